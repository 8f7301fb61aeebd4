package dev.edgelm.daemon;

/** No model of that name is configured or was added. */
public final class UnknownModelException extends ServingException {
  private static final long serialVersionUID = 1L;

  public UnknownModelException(String message) {
    super(message);
  }
}
