package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Scheduler;
import io.vertx.core.Context;
import java.time.Duration;

/**
 * A stream's two timers, both on the injected {@link Scheduler} (so tests advance a fake clock) and both firing on the
 * stream's context: its deadline ({@code grpc-timeout}, counted from arrival) and the {@code generation.stall_timeout}
 * of its current pause. A cancelled timer never fires; one that fired is forgotten.
 *
 * <p>Threading: confined to the stream's context.
 */
final class StreamTimers {
  /** The most before its deadline that a client's reset still counts as the deadline firing (see {@link #deadlineReached}). */
  static final Duration DEADLINE_TOLERANCE = Duration.ofMillis(100);

  private final Scheduler scheduler;
  private final Context context;
  private Scheduler.Cancellable deadline;
  private Scheduler.Cancellable stall;

  StreamTimers(Scheduler scheduler, Context context) {
    this.scheduler = scheduler;
    this.context = context;
  }

  /** Runs {@code expired} on the context {@code timeout} from now, unless {@link #cancel}led first. */
  void deadline(Duration timeout, Runnable expired) {
    deadline = scheduler.schedule(() -> context.runOnContext(v -> {
      deadline = null;
      expired.run();
    }), timeout);
  }

  /** Runs {@code stalled} on the context {@code timeout} from now, unless disarmed first; replaces the armed one. */
  void stall(Duration timeout, Runnable stalled) {
    disarmStall();
    stall = scheduler.schedule(() -> context.runOnContext(v -> {
      stall = null;
      stalled.run();
    }), timeout);
  }

  void disarmStall() {
    if (stall != null) {
      stall.cancel();
      stall = null;
    }
  }

  /** Cancels both. */
  void cancel() {
    if (deadline != null) {
      deadline.cancel();
      deadline = null;
    }
    disarmStall();
  }

  /**
   * Whether a client's reset {@code elapsedNanos} after arrival is its deadline firing rather than a
   * cancel. grpc-java (and most clients) reset the stream (RST_STREAM CANCEL, the same frame as a
   * cancel) when their deadline passes, and that reset reaches the daemon about when its own timer
   * would fire, often just before it: the client's clock started before the call arrived, and
   * {@code grpc-timeout} is rounded down to whole milliseconds here. So a reset in the last fifth of
   * the deadline (at most {@link #DEADLINE_TOLERANCE} before it) counts as DEADLINE_EXCEEDED.
   */
  static boolean deadlineReached(long timeoutMillis, long elapsedNanos) {
    if (timeoutMillis <= 0) {
      return false;
    }
    long timeout = Duration.ofMillis(timeoutMillis).toNanos();
    long tolerance = Math.min(timeout / 5, DEADLINE_TOLERANCE.toNanos());
    return elapsedNanos >= timeout - tolerance;
  }
}
