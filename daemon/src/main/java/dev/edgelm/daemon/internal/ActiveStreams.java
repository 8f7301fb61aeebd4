package dev.edgelm.daemon.internal;

import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The generation streams in progress (every API) (from arrival, before their request message, to their end), with
 * the counters behind the stream gauges: response messages written but not yet sent (and the most
 * any one stream has had), and streams paused for a slow reader. Drain walks it to cancel what is
 * left at the drain timeout.
 *
 * <p>Threading: thread-safe (concurrent set, atomic counters).
 */
final class ActiveStreams implements SendWindow.Gauges {
  private final Set<GenerationStream<?>> calls = ConcurrentHashMap.newKeySet();
  private final AtomicLong buffered = new AtomicLong();
  private final AtomicLong bufferedHighWater = new AtomicLong();
  private final AtomicLong paused = new AtomicLong();
  private final AtomicLong cancelling = new AtomicLong();
  private final Object emptied = new Object();

  void add(GenerationStream<?> call) {
    calls.add(call);
  }

  void remove(GenerationStream<?> call) {
    calls.remove(call);
    synchronized (emptied) {
      emptied.notifyAll();
    }
  }

  /** Waits until no call is in progress, at most {@code timeout}; true when none is. For the drain thread only. */
  boolean awaitEmpty(Duration timeout) throws InterruptedException {
    long deadline = System.nanoTime() + timeout.toNanos();
    synchronized (emptied) {
      while (!calls.isEmpty()) {
        long left = deadline - System.nanoTime();
        if (left <= 0) {
          return false;
        }
        emptied.wait(Math.max(1, left / 1_000_000));
      }
    }
    return true;
  }

  int size() {
    return calls.size();
  }

  List<GenerationStream<?>> snapshot() {
    return List.copyOf(calls);
  }

  @Override
  public void messageBuffered(int streamBuffered) {
    buffered.incrementAndGet();
    bufferedHighWater.accumulateAndGet(streamBuffered, Math::max);
  }

  @Override
  public void messageSent() {
    buffered.decrementAndGet();
  }

  @Override
  public void paused(boolean on) {
    paused.addAndGet(on ? 1 : -1);
  }

  void cancelling(boolean on) {
    cancelling.addAndGet(on ? 1 : -1);
  }

  long cancellingCount() {
    return cancelling.get();
  }

  long buffered() {
    return buffered.get();
  }

  long bufferedHighWater() {
    return bufferedHighWater.get();
  }

  long pausedCount() {
    return paused.get();
  }
}
