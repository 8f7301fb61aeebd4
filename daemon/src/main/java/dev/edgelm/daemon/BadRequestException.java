package dev.edgelm.daemon;

/** A request is malformed: a required field is missing or a value is out of range. */
public final class BadRequestException extends ServingException {
  private static final long serialVersionUID = 1L;

  public BadRequestException(String message) {
    super(message);
  }
}
