package dev.edgelm.daemon;

/** The daemon's configuration forbids the call (e.g. adding models when api.allow_new_models is false). */
public final class NotAllowedException extends ServingException {
  private static final long serialVersionUID = 1L;

  public NotAllowedException(String message) {
    super(message);
  }
}
