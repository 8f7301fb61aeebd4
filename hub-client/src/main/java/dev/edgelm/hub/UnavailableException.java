package dev.edgelm.hub;

/**
 * The hub could not be reached, or kept answering 5xx/429, and the retry budget is spent. A later
 * attempt may succeed; a partial download stays on disk and resumes.
 */
public final class UnavailableException extends HubException {
  private static final long serialVersionUID = 1L;

  public UnavailableException(String message) {
    super(message, null);
  }

  public UnavailableException(String message, Throwable cause) {
    super(message, cause);
  }

  @Override
  public boolean isRetryable() {
    return true;
  }
}
