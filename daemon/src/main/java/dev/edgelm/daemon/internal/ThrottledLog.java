package dev.edgelm.daemon.internal;

import dev.edgelm.engine.Ticker;
import java.time.Duration;
import java.util.function.Consumer;

/**
 * At most one log line per interval for an event a client can cause at will (a malformed request):
 * the first occurrence is logged at once, later ones within the interval are counted, and the next
 * line says how many were left out. A flood of bad calls therefore costs one line per interval, and
 * nothing is hidden: the count of what was not logged is in the next line (and every call is in the
 * request metrics).
 *
 * <p>Time comes from the injected {@link Ticker}. Thread-safe (one lock around a counter and a timestamp).
 */
final class ThrottledLog {
  private final Ticker ticker;
  private final long intervalNanos;
  private final Consumer<String> sink;
  private final Object lock = new Object();
  /** Guarded by {@link #lock}. */
  private long lastLogged;
  /** Guarded by {@link #lock}. */
  private boolean loggedOnce;
  /** Guarded by {@link #lock}: occurrences since {@link #lastLogged} that were not logged. */
  private long suppressed;

  ThrottledLog(Ticker ticker, Duration interval, Consumer<String> sink) {
    this.ticker = ticker;
    this.intervalNanos = interval.toNanos();
    this.sink = sink;
  }

  /** Logs {@code line} unless a line was logged less than an interval ago. */
  void log(String line) {
    long now = ticker.read();
    long left;
    synchronized (lock) {
      if (loggedOnce && now - lastLogged < intervalNanos) {
        suppressed++;
        return;
      }
      loggedOnce = true;
      lastLogged = now;
      left = suppressed;
      suppressed = 0;
    }
    sink.accept(left == 0 ? line : line + " (" + left + " more like it not logged since the last line)");
  }
}
