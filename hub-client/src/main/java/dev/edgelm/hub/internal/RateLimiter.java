package dev.edgelm.hub.internal;

import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.Sleeper;
import dev.edgelm.hub.Ticker;
import java.time.Duration;

/**
 * Holds downloads to a byte rate, shared by every download of one hub client (the limit is for the
 * host, not per file). Virtual scheduling: each grant of {@code n} bytes pushes the time the link is
 * next free by {@code n / rate}; a caller ahead of that time by more than a small burst allowance
 * sleeps the difference. Time comes from the injected ticker and sleeper.
 */
final class RateLimiter {
  private static final long BURST_NANOS = 50_000_000L;

  private final long bytesPerSecond;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private long nextFreeNanos;
  private boolean started;

  RateLimiter(long bytesPerSecond, Ticker ticker, Sleeper sleeper) {
    this.bytesPerSecond = bytesPerSecond;
    this.ticker = ticker;
    this.sleeper = sleeper;
  }

  boolean limited() {
    return bytesPerSecond > 0;
  }

  /** A read size that keeps the limit smooth: about a tenth of a second of data, 1 KiB to 64 KiB. */
  int chunkSize() {
    if (!limited()) {
      return 1 << 16;
    }
    return (int) Math.max(1024, Math.min(1 << 16, bytesPerSecond / 10));
  }

  /** Accounts for {@code n} bytes, sleeping if the rate would be exceeded. */
  void acquire(long n) {
    if (!limited() || n <= 0) {
      return;
    }
    long waitNanos;
    synchronized (this) {
      long now = ticker.nanoTime();
      if (!started || nextFreeNanos < now) {
        nextFreeNanos = now;
        started = true;
      }
      nextFreeNanos += (long) (n * 1e9 / bytesPerSecond);
      waitNanos = nextFreeNanos - now - BURST_NANOS;
    }
    if (waitNanos > 0) {
      try {
        sleeper.sleep(Duration.ofNanos(waitNanos));
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CancelledException("interrupted during a rate-limited download", e);
      }
    }
  }
}
