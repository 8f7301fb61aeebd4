package dev.edgelm.daemon;

/** The model is still being pulled or loaded, or the daemon is draining: retrying later may succeed. */
public final class NotReadyException extends ServingException {
  private static final long serialVersionUID = 1L;

  public NotReadyException(String message) {
    super(message);
  }
}
