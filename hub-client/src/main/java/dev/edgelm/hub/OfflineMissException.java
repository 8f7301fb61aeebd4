package dev.edgelm.hub;

/** Offline mode is on and the local store does not hold what was asked for. */
public final class OfflineMissException extends HubException {
  private static final long serialVersionUID = 1L;

  public OfflineMissException(String message) {
    super(message, null);
  }

  public OfflineMissException(String message, Throwable cause) {
    super(message, cause);
  }
}
