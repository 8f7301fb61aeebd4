package dev.edgelm.daemon.testing;

import dev.edgelm.daemon.Scheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A {@link Scheduler} driven by the test: tasks wait until {@link #advance} moves its clock past their
 * due time. Thread-safe.
 */
public final class ManualScheduler implements Scheduler {
  private record Task(Runnable run, long dueNanos) {}

  private final List<Task> tasks = new ArrayList<>();
  private long nowNanos;

  @Override
  public synchronized Cancellable schedule(Runnable task, Duration delay) {
    Task t = new Task(task, nowNanos + delay.toNanos());
    tasks.add(t);
    return () -> {
      synchronized (this) {
        tasks.remove(t);
      }
    };
  }

  /** Tasks waiting. */
  public synchronized int pending() {
    return tasks.size();
  }

  /** Moves the clock by {@code d} and runs every task that is due (on this thread). */
  public void advance(Duration d) {
    List<Task> due = new ArrayList<>();
    synchronized (this) {
      nowNanos += d.toNanos();
      for (Task t : List.copyOf(tasks)) {
        if (t.dueNanos() <= nowNanos) {
          tasks.remove(t);
          due.add(t);
        }
      }
    }
    due.forEach(t -> t.run().run());
  }
}
