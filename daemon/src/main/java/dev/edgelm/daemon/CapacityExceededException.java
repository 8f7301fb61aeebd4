package dev.edgelm.daemon;

/** The model's generation slots and its wait queue are full. */
public final class CapacityExceededException extends ServingException {
  private static final long serialVersionUID = 1L;

  public CapacityExceededException(String message) {
    super(message);
  }
}
