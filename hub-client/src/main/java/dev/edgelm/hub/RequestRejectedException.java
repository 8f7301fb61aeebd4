package dev.edgelm.hub;

/** The registry refused a request for a reason other than auth or absence (an HTTP 4xx such as 400 or 405); retrying will not help. */
public final class RequestRejectedException extends HubException {
  private static final long serialVersionUID = 1L;

  public RequestRejectedException(String message) {
    super(message, null);
  }

  public RequestRejectedException(String message, Throwable cause) {
    super(message, cause);
  }
}
