package dev.edgelm.hub;

/** The calling thread was interrupted; a partial download stays on disk and a later pull resumes it. */
public final class CancelledException extends HubException {
  private static final long serialVersionUID = 1L;

  public CancelledException(String message) {
    super(message, null);
  }

  public CancelledException(String message, Throwable cause) {
    super(message, cause);
  }
}
