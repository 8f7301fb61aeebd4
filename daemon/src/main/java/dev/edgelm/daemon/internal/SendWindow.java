package dev.edgelm.daemon.internal;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The backpressure handshake of one stream: its decode worker produces response messages, its event loop sends them,
 * and the worker stops (holding no thread) while too many are unsent.
 *
 * <h2>Design</h2>
 *
 * <p>At most {@code limit} ({@code generation.max_buffered_messages}) messages the worker produced are not yet on the
 * network, and none is produced while the response's write queue is full. After each message the worker asks {@link
 * #pauseIfFull}: with room it goes on; without, it sets {@code paused}, then looks once more, because a send may have
 * completed between the first look and the flag, and that send's {@link #tryResume} saw no pause to end. Either side
 * clears {@code paused} only by compare-and-set, so of a worker that finds room on its second look and a sender that
 * resumes it, exactly one goes on: a wake-up is never lost and a stream never runs on two workers.
 *
 * <p>Each stop has a number ({@link #pauseIfFull} returns it); timers and lending decisions taken for a pause check
 * {@link #inPause} with its number, so one whose pause has ended (and maybe a newer one begun) does nothing.
 *
 * <p>Once the stream's status has been sent nothing more is written: {@link #discard} makes every message uncounted
 * and the window never full, so the worker ends the generation at once.
 *
 * <p>Threading: {@link #produced} and {@link #pauseIfFull} are called by the worker running the stream (one at a
 * time); the rest from any thread (the daemon calls them on the stream's event loop). All state is atomic.
 */
final class SendWindow {
  /** Where the window reports its counts (the daemon's stream gauges). Thread-safe. */
  interface Gauges {
    /** One more message is unsent on a stream that now has {@code streamUnsent}. */
    void messageBuffered(int streamUnsent);

    void messageSent();

    /**
     * A stream is stopping ({@code true}: told on the worker before it sets its flag, so senders may complete
     * meanwhile) or went on ({@code false}).
     */
    void paused(boolean on);
  }

  /** What a paused stream waits for before {@link #tryResume} lets it go on. */
  enum Until {
    /** Room for one more message (fewer than the limit unsent, the write queue not full). */
    ROOM,
    /** Every message sent (a stream that lent its slot rebuilds its KV cache to go on: it waits until it can run long). */
    EMPTY,
    /** Nothing: it only has to end. */
    NOW
  }

  private final int limit;
  private final Gauges gauges;
  /** Messages produced and not yet sent (or dropped). */
  private final AtomicInteger unsent = new AtomicInteger();
  /** The worker stopped and holds no thread. */
  private final AtomicBoolean paused = new AtomicBoolean();
  /** The number of the latest stop. */
  private final AtomicLong pauses = new AtomicLong();
  private volatile boolean queueFull;
  private volatile boolean discard;

  SendWindow(int limit, Gauges gauges) {
    if (limit < 1) {
      throw new IllegalArgumentException("limit must be at least 1: " + limit);
    }
    this.limit = limit;
    this.gauges = gauges;
  }

  /** Worker: a counted message was produced; call before handing it to the sender. */
  void produced() {
    gauges.messageBuffered(unsent.incrementAndGet());
  }

  /**
   * Worker, after handing a message on: 0 when it may run another step; otherwise it has stopped, holds no thread
   * until {@link #tryResume} returns true, and the result is the stop's number.
   */
  long pauseIfFull() {
    if (mayContinue()) {
      return 0;
    }
    // The stop's number before its flag: once a sender can see the flag (and resume, and the stream stop again),
    // this number is already the latest, so no timer or lending decision taken for it can apply to a later stop.
    long stop = pauses.incrementAndGet();
    gauges.paused(true); // before the flag too, so that the gauge never goes below zero when a sender resumes at once
    paused.set(true);
    // A send may have completed since the look above: look again, so that no wake-up is lost.
    if (!mayContinue() || !paused.compareAndSet(true, false)) {
      return stop;
    }
    gauges.paused(false);
    return 0;
  }

  /** A produced message left (sent, or dropped): one more may be produced. */
  void sent() {
    unsent.decrementAndGet();
    gauges.messageSent();
  }

  /** Whether the response's write queue is full, as the sender last saw it. */
  void queueFull(boolean full) {
    queueFull = full;
  }

  /** Nothing more is written: the worker need not wait for room, and what it produces is not counted. */
  void discard() {
    discard = true;
  }

  boolean discarding() {
    return discard;
  }

  /**
   * Ends the current stop if the stream has what it waits for; true exactly once per stop, and then the caller must
   * hand the stream to a worker.
   */
  boolean tryResume(Until until) {
    if (paused.get() && ready(until) && paused.compareAndSet(true, false)) {
      gauges.paused(false);
      return true;
    }
    return false;
  }

  /** Ends a stop for good (the stream is over); true when one was ended. */
  boolean clearPause() {
    if (paused.compareAndSet(true, false)) {
      gauges.paused(false);
      return true;
    }
    return false;
  }

  boolean paused() {
    return paused.get();
  }

  /** Whether the stream is stopped in stop number {@code pause}. */
  boolean inPause(long pause) {
    return paused.get() && pauses.get() == pause;
  }

  /** The number of the latest stop (0 before the first). */
  long currentPause() {
    return pauses.get();
  }

  int unsent() {
    return unsent.get();
  }

  private boolean ready(Until until) {
    return switch (until) {
      case ROOM -> mayContinue();
      case EMPTY -> discard || (unsent.get() == 0 && !queueFull);
      case NOW -> true;
    };
  }

  /**
   * Whether the worker may run another step: there is room for its message, or nothing more will be written. A stream
   * whose output is kept to its end (drain) needs room for its last message too, so none ever holds more than the limit.
   */
  private boolean mayContinue() {
    return discard || (unsent.get() < limit && !queueFull);
  }
}
