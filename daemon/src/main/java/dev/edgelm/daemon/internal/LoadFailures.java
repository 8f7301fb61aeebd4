package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.daemon.NoSuitableVariantException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.RequestRejectedException;
import dev.edgelm.hub.SignatureRejectedException;
import java.time.Duration;
import java.util.concurrent.CompletionException;

/** How the registry treats a failed load: what a request may retry, and when. Stateless. */
final class LoadFailures {
  static final Duration MAX_RETRY_BACKOFF = Duration.ofMinutes(5);

  private LoadFailures() {}

  /**
   * Throws when a request must not start another load of {@code sm} now: a hub model's permanent failure as
   * is (trying again per request would select and download per request, and fail the same way; the tag poll
   * notices a new release, and Models.Load tries again on demand), or {@link NotReadyException} while a
   * transient failure's backoff ({@link #retryBackoff}) runs.
   */
  static void refuseRetry(ServedModel sm, ServedState s, long nowNanos) {
    Throwable last = s.lastFailure();
    if (last == null) {
      return;
    }
    if (sm.fromHub() && permanentHubFailure(last)) {
      throw (RuntimeException) last;
    }
    if (!permanentHubFailure(last) && !permanent(last)) {
      long wait = retryBackoff(s.consecutiveFailures()).toNanos() - (nowNanos - s.lastFailureNanos());
      if (wait > 0) {
        throw new NotReadyException("model '" + sm.name + "' failed to load (" + last.getMessage() + "); next attempt in "
            + Math.max(1, Math.round(wait / 1e9)) + " s");
      }
    }
  }

  /** A failure of the package or the budget, which a request reports as is (and still retries: the file may be fixed). */
  static boolean permanent(Throwable last) {
    return last instanceof ModelTooLargeException || last instanceof ModelPackageException;
  }

  /** How long after the n-th failure in a row a request may start another load: 1 s, doubling, at most 5 min. */
  static Duration retryBackoff(int failures) {
    Duration d = Duration.ofSeconds(1L << Math.min(Math.max(failures, 1) - 1, 16));
    return d.compareTo(MAX_RETRY_BACKOFF) > 0 ? MAX_RETRY_BACKOFF : d;
  }

  /**
   * A hub failure that the same release will give again, whatever the retry: no variant suits the host, the
   * signature is refused, the bytes do not match their digest, the release or reference is invalid or gone, the
   * daemon's credentials are refused. (Unreachable hubs, full disks and store errors are transient.)
   */
  static boolean permanentHubFailure(Throwable t) {
    return t instanceof NoSuitableVariantException || t instanceof SignatureRejectedException || t instanceof IntegrityException
        || t instanceof InvalidReleaseException || t instanceof NotFoundException || t instanceof BadReferenceException
        || t instanceof AuthException || t instanceof RequestRejectedException;
  }

  /** The failure inside a future's completion exception. */
  static Throwable unwrap(Throwable e) {
    return e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
  }
}
