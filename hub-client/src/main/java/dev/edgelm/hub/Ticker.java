package dev.edgelm.hub;

import java.time.Instant;

/**
 * A source of time: a monotonic nanosecond reading for rates, timeouts and backoff, and wall time
 * for {@code Retry-After} dates. Injected so tests advance a fake clock instead of sleeping.
 */
public interface Ticker {
  /** The system clock. */
  Ticker SYSTEM = new Ticker() {
    @Override
    public long nanoTime() {
      return System.nanoTime();
    }

    @Override
    public Instant now() {
      return Instant.now();
    }
  };

  /** Monotonic nanoseconds; only differences are meaningful. */
  long nanoTime();

  /** Wall-clock time. */
  Instant now();
}
