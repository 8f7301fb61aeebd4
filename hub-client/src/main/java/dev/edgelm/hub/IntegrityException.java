package dev.edgelm.hub;

/** Content does not match its digest or its declared size; nothing was installed from it. */
public final class IntegrityException extends HubException {
  private static final long serialVersionUID = 1L;

  public IntegrityException(String message) {
    super(message, null);
  }

  public IntegrityException(String message, Throwable cause) {
    super(message, cause);
  }
}
