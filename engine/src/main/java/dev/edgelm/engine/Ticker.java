package dev.edgelm.engine;

/**
 * A source of nanosecond time, injected wherever the engine measures durations so that tests can
 * advance time instead of sleeping. Only differences between readings are meaningful.
 */
@FunctionalInterface
public interface Ticker {
  /** Nanoseconds since an arbitrary origin. */
  long read();

  /** {@link System#nanoTime()}. */
  static Ticker system() {
    return System::nanoTime;
  }
}
