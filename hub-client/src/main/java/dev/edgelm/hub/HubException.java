package dev.edgelm.hub;

/**
 * Base of every error the hub client reports. The subtype says what happened, so callers (the CLI,
 * the daemon's single status mapper) can answer without parsing messages:
 *
 * <ul>
 *   <li>{@link BadReferenceException}: a reference string is malformed (INVALID_ARGUMENT);
 *   <li>{@link NotFoundException}: repository, tag, blob or variant does not exist (NOT_FOUND);
 *   <li>{@link AuthException}: credentials are missing, rejected, or lack permission;
 *   <li>{@link IntegrityException}: content does not match its digest or declared size (DATA_LOSS);
 *   <li>{@link SignatureRejectedException}: the signature policy refused a release;
 *   <li>{@link UnavailableException}: the hub could not be reached or kept failing; retrying later
 *       may succeed (UNAVAILABLE);
 *   <li>{@link RequestRejectedException}: the registry refused a request for another reason (4xx);
 *   <li>{@link InvalidReleaseException}: content is not a well-formed edgelm release or package;
 *   <li>{@link InsufficientDiskException}: not enough free disk for the download (RESOURCE_EXHAUSTED);
 *   <li>{@link OfflineMissException}: offline mode and the store lacks what was asked for;
 *   <li>{@link StoreException}: the local store could not be read or written;
 *   <li>{@link CancelledException}: the calling thread was interrupted.
 * </ul>
 *
 * <p>Messages are one line, name what was wrong and, where there is one, what to do.
 */
public abstract sealed class HubException extends RuntimeException
    permits BadReferenceException, NotFoundException, AuthException, IntegrityException,
        SignatureRejectedException, UnavailableException, RequestRejectedException,
        InvalidReleaseException, InsufficientDiskException, OfflineMissException, StoreException,
        CancelledException {
  private static final long serialVersionUID = 1L;

  protected HubException(String message, Throwable cause) {
    super(message, cause);
  }

  /** Whether the same call may succeed if simply tried again later (the grpc-java litmus test). */
  public boolean isRetryable() {
    return false;
  }
}
