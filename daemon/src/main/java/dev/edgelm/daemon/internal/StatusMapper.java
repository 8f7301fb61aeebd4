package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.CapacityExceededException;
import dev.edgelm.daemon.DeadlineExceededException;
import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.daemon.NoSuitableVariantException;
import dev.edgelm.daemon.NotAllowedException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.ServingException;
import dev.edgelm.daemon.UnauthenticatedException;
import dev.edgelm.daemon.UnknownModelException;
import dev.edgelm.engine.CorruptPackageException;
import dev.edgelm.engine.EngineException;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.RuntimeFailureException;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.HubException;
import dev.edgelm.hub.InsufficientDiskException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.OfflineMissException;
import dev.edgelm.hub.RequestRejectedException;
import dev.edgelm.hub.SignatureRejectedException;
import dev.edgelm.hub.StoreException;
import dev.edgelm.hub.UnavailableException;
import io.vertx.grpc.common.GrpcStatus;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;

/**
 * The one place that turns an exception into a gRPC status and message. Codes follow grpc-java's
 * litmus test: UNAVAILABLE when the same call may succeed if simply retried (model loading, hub
 * unreachable, draining), FAILED_PRECONDITION when it will not until something changes (the model
 * does not fit, no variant suits the host, the package is corrupt, a signature is rejected), RESOURCE_EXHAUSTED when capacity
 * is temporarily full (queue, disk), DATA_LOSS for content that does not match its digest
 * (a pulled blob, or a package file whose sha256 differs from its {@code variant.json}).
 *
 * <p>The hub's {@link AuthException} is the daemon's own registry credentials failing, not the
 * caller's: it maps to FAILED_PRECONDITION (an operator must fix the daemon's configuration);
 * UNAUTHENTICATED is reserved for the caller's missing or wrong API key.
 *
 * <p>Anything unexpected is INTERNAL with a short message (never UNKNOWN, never a stack trace).
 * Thread-safe (stateless).
 */
final class StatusMapper {
  /** A status and the message sent with it. */
  public record Failure(GrpcStatus status, String message) {}

  private StatusMapper() {}

  public static Failure map(Throwable t) {
    Throwable e = unwrap(t);
    if (e instanceof ServingException s) {
      return new Failure(servingStatus(s), s.getMessage());
    }
    if (e instanceof EngineException engine) {
      return new Failure(engineStatus(engine), engine.getMessage());
    }
    if (e instanceof HubException hub) {
      return new Failure(hubStatus(hub), hub.getMessage());
    }
    if (e instanceof io.vertx.grpc.server.StatusException se) {
      return new Failure(se.status(), se.message());
    }
    return new Failure(GrpcStatus.INTERNAL, "internal error: " + e.getClass().getSimpleName()
        + (e.getMessage() == null ? "" : ": " + e.getMessage().strip().replaceAll("\\s*\\R\\s*", "; ")));
  }

  private static GrpcStatus servingStatus(ServingException s) {
    if (s instanceof UnknownModelException) {
      return GrpcStatus.NOT_FOUND;
    } else if (s instanceof BadRequestException) {
      return GrpcStatus.INVALID_ARGUMENT;
    } else if (s instanceof NotReadyException) {
      return GrpcStatus.UNAVAILABLE;
    } else if (s instanceof CapacityExceededException) {
      return GrpcStatus.RESOURCE_EXHAUSTED;
    } else if (s instanceof ModelTooLargeException || s instanceof NoSuitableVariantException) {
      return GrpcStatus.FAILED_PRECONDITION;
    } else if (s instanceof UnauthenticatedException) {
      return GrpcStatus.UNAUTHENTICATED;
    } else if (s instanceof NotAllowedException) {
      return GrpcStatus.PERMISSION_DENIED;
    } else if (s instanceof DeadlineExceededException) {
      return GrpcStatus.DEADLINE_EXCEEDED;
    }
    throw new AssertionError(s.getClass());
  }

  private static GrpcStatus engineStatus(EngineException e) {
    if (e instanceof InvalidRequestException) {
      return GrpcStatus.INVALID_ARGUMENT;
    } else if (e instanceof CorruptPackageException) {
      return GrpcStatus.DATA_LOSS;
    } else if (e instanceof ModelPackageException) {
      return GrpcStatus.FAILED_PRECONDITION;
    } else if (e instanceof RuntimeFailureException) {
      return GrpcStatus.INTERNAL;
    }
    throw new AssertionError(e.getClass());
  }

  private static GrpcStatus hubStatus(HubException e) {
    if (e instanceof BadReferenceException) {
      return GrpcStatus.INVALID_ARGUMENT;
    } else if (e instanceof NotFoundException) {
      return GrpcStatus.NOT_FOUND;
    } else if (e instanceof IntegrityException) {
      return GrpcStatus.DATA_LOSS;
    } else if (e instanceof UnavailableException) {
      return GrpcStatus.UNAVAILABLE;
    } else if (e instanceof InsufficientDiskException) {
      return GrpcStatus.RESOURCE_EXHAUSTED;
    } else if (e instanceof CancelledException) {
      return GrpcStatus.CANCELLED;
    } else if (e instanceof StoreException) {
      return GrpcStatus.INTERNAL;
    } else if (e instanceof AuthException || e instanceof SignatureRejectedException || e instanceof RequestRejectedException
        || e instanceof InvalidReleaseException || e instanceof OfflineMissException) {
      return GrpcStatus.FAILED_PRECONDITION;
    }
    throw new AssertionError(e.getClass());
  }

  private static Throwable unwrap(Throwable t) {
    Throwable e = t;
    while ((e instanceof CompletionException || e instanceof ExecutionException) && e.getCause() != null) {
      e = e.getCause();
    }
    return e;
  }
}
