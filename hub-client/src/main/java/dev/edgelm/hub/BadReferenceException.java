package dev.edgelm.hub;

/** A reference ({@code HOST[:PORT]/REPO:TAG}, {@code oci:PATH:TAG}) or a digest string is malformed. */
public final class BadReferenceException extends HubException {
  private static final long serialVersionUID = 1L;

  public BadReferenceException(String message) {
    super(message, null);
  }

  public BadReferenceException(String message, Throwable cause) {
    super(message, cause);
  }
}
