package dev.edgelm.hub;

/** The signature policy {@code require} refused a release: it is unsigned, signed only by untrusted keys, or its signature does not verify. The message says which. */
public final class SignatureRejectedException extends HubException {
  private static final long serialVersionUID = 1L;

  public SignatureRejectedException(String message) {
    super(message, null);
  }

  public SignatureRejectedException(String message, Throwable cause) {
    super(message, cause);
  }
}
