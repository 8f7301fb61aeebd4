package dev.edgelm.hub;

/** The local store's file system has less usable space than the download needs plus the configured reserve. Nothing was fetched. */
public final class InsufficientDiskException extends HubException {
  private static final long serialVersionUID = 1L;

  public InsufficientDiskException(String message) {
    super(message, null);
  }

  public InsufficientDiskException(String message, Throwable cause) {
    super(message, cause);
  }
}
