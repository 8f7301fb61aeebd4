package dev.edgelm.daemon;

/**
 * Base of every error the daemon itself raises while serving. The subtype says what happened, so the
 * daemon's single status mapper (and any embedding caller) can answer without parsing messages:
 *
 * <ul>
 *   <li>{@link UnknownModelException}: no model of that name (NOT_FOUND);
 *   <li>{@link BadRequestException}: the request is malformed (INVALID_ARGUMENT);
 *   <li>{@link NotReadyException}: the model is still loading, or the daemon is draining; retrying
 *       later may succeed (UNAVAILABLE);
 *   <li>{@link CapacityExceededException}: the model's wait queue is full (RESOURCE_EXHAUSTED);
 *   <li>{@link ModelTooLargeException}: the model cannot fit the memory budget even with every
 *       unpinned model evicted; retrying will not help until the configuration changes
 *       (FAILED_PRECONDITION);
 *   <li>{@link NoSuitableVariantException}: no variant of a hub release suits this host (it cannot run
 *       them, they do not fit, or they fall under the quality floor) (FAILED_PRECONDITION);
 *   <li>{@link UnauthenticatedException}: no valid API key (UNAUTHENTICATED);
 *   <li>{@link NotAllowedException}: the daemon's configuration forbids it (PERMISSION_DENIED);
 *   <li>{@link DeadlineExceededException}: the call's deadline passed (DEADLINE_EXCEEDED).
 * </ul>
 *
 * <p>Engine ({@link dev.edgelm.engine.EngineException}) and hub ({@link dev.edgelm.hub.HubException})
 * errors pass through unchanged and are mapped by the same mapper. Messages are one line, name what
 * was wrong and, where there is one, what to do.
 */
public abstract sealed class ServingException extends RuntimeException
    permits UnknownModelException, BadRequestException, NotReadyException, CapacityExceededException, ModelTooLargeException,
        NoSuitableVariantException,
        UnauthenticatedException, NotAllowedException, DeadlineExceededException {
  private static final long serialVersionUID = 1L;

  protected ServingException(String message) {
    super(message, null, false, false);
  }
}
