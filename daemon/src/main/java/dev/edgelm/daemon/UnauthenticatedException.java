package dev.edgelm.daemon;

/** The call carries no API key, or one the daemon does not know. */
public final class UnauthenticatedException extends ServingException {
  private static final long serialVersionUID = 1L;

  public UnauthenticatedException(String message) {
    super(message);
  }
}
