package dev.edgelm.daemon;

/** The call's deadline passed before the generation finished. */
public final class DeadlineExceededException extends ServingException {
  private static final long serialVersionUID = 1L;

  public DeadlineExceededException(String message) {
    super(message);
  }
}
