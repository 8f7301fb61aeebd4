package dev.edgelm.hub;

/** The local store (or a layout directory) could not be read or written: permissions, I/O errors. */
public final class StoreException extends HubException {
  private static final long serialVersionUID = 1L;

  public StoreException(String message) {
    super(message, null);
  }

  public StoreException(String message, Throwable cause) {
    super(message, cause);
  }
}
