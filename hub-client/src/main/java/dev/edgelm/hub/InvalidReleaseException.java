package dev.edgelm.hub;

/** Content is not a well-formed edgelm release or model package (wrong media type, missing annotation, unreadable {@code variant.json}, files that disagree with their descriptor). */
public final class InvalidReleaseException extends HubException {
  private static final long serialVersionUID = 1L;

  public InvalidReleaseException(String message) {
    super(message, null);
  }

  public InvalidReleaseException(String message, Throwable cause) {
    super(message, cause);
  }
}
