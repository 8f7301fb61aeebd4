package dev.edgelm.hub;

/** The repository, tag, blob, manifest or variant asked for does not exist at the hub. */
public final class NotFoundException extends HubException {
  private static final long serialVersionUID = 1L;

  public NotFoundException(String message) {
    super(message, null);
  }

  public NotFoundException(String message, Throwable cause) {
    super(message, cause);
  }
}
