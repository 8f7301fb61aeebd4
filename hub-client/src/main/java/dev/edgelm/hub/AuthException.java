package dev.edgelm.hub;

/** The registry wants credentials that were not given, rejected the ones given, or denied access with them. */
public final class AuthException extends HubException {
  private static final long serialVersionUID = 1L;

  /** What went wrong with authentication. */
  public enum Reason {
    /** The registry requires credentials and none were configured for it. */
    MISSING_CREDENTIALS,
    /** The registry (or its token service) rejected the credentials. */
    REJECTED_CREDENTIALS,
    /** Authenticated, but not allowed to do this (HTTP 403). */
    DENIED
  }

  private final Reason reason;

  public AuthException(Reason reason, String message) {
    super(message, null);
    this.reason = reason;
  }

  public Reason reason() {
    return reason;
  }
}
