package dev.edgelm.daemon;

import java.time.Duration;

/**
 * Runs a task once after a delay: how the daemon times release polling. The default uses a daemon
 * thread; tests inject one driven by a fake clock, so they advance time instead of sleeping.
 *
 * <p>Tasks must be short and must not block (they hand blocking work to the daemon's own threads).
 */
@FunctionalInterface
public interface Scheduler {
  /** Schedules {@code task}; the returned handle cancels it if it has not run. */
  Cancellable schedule(Runnable task, Duration delay);

  /** A scheduled task. */
  @FunctionalInterface
  interface Cancellable {
    void cancel();
  }
}
