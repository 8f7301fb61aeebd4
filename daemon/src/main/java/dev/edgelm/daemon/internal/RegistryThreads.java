package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Scheduler;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.logging.Logger;

/**
 * The model registry's threads besides the loader thread ({@link ModelLoads} owns that one): two hub
 * threads (selection, pulls, tag checks, all blocking) and one cache thread (Caffeine's maintenance and
 * expiry, closing retired models, and the default {@link Scheduler} of tag polls and preload retries).
 *
 * <p>Threading: thread-safe. Work handed over after {@link #stopHub}/{@link #stopCache} is refused
 * ({@link RejectedExecutionException}), except on {@link #cacheTasks}, which then runs it inline so
 * late removals still close their models.
 */
final class RegistryThreads {
  private static final Logger LOG = Logger.getLogger(RegistryThreads.class.getName());

  final ExecutorService hub = Executors.newFixedThreadPool(2, threads("edgelm-hub"));
  final ScheduledExecutorService cache;
  /** Runs on the cache thread, or inline once it has shut down. */
  final Executor cacheTasks;
  /** The injected scheduler, else one on the cache thread. */
  final Scheduler scheduler;

  RegistryThreads(Optional<Scheduler> injected) {
    ScheduledThreadPoolExecutor cacheThread = new ScheduledThreadPoolExecutor(1, threads("edgelm-cache"));
    cacheThread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false); // a tag poll due in an hour must not hold up a stop
    this.cache = cacheThread;
    this.cacheTasks = r -> {
      try {
        cache.execute(r);
      } catch (RejectedExecutionException e) {
        r.run();
      }
    };
    this.scheduler = injected.orElse((task, delay) -> {
      try {
        ScheduledFuture<?> f = cache.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
      } catch (RejectedExecutionException e) {
        return () -> { }; // shutting down
      }
    });
  }

  /**
   * Schedules {@code task} on {@code scheduler} and keeps its handle in {@code pending} until it runs,
   * so that a stop can cancel what is due. Safe when the task runs before {@code schedule} returns.
   */
  static Scheduler.Cancellable scheduleTracked(Scheduler scheduler, Set<Scheduler.Cancellable> pending, Runnable task, Duration delay) {
    AtomicReference<Scheduler.Cancellable> handle = new AtomicReference<>();
    AtomicBoolean ran = new AtomicBoolean();
    Scheduler.Cancellable c = scheduler.schedule(() -> {
      ran.set(true);
      Scheduler.Cancellable h = handle.get();
      if (h != null) {
        pending.remove(h);
      }
      task.run();
    }, delay);
    pending.add(c);
    handle.set(c);
    if (ran.get()) {
      pending.remove(c);
    }
    return c;
  }

  static ThreadFactory threads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  /** Interrupts the hub threads (a pull in progress stops). */
  void stopHub() {
    hub.shutdownNow();
  }

  /** Lets the cache thread finish what is queued (models closing), waiting up to 10 s. */
  void stopCache() {
    cache.shutdown();
    awaitTermination(cache, Duration.ofSeconds(10), "models to close");
  }

  static void awaitTermination(ExecutorService executor, Duration grace, String what) {
    try {
      if (!executor.awaitTermination(100, TimeUnit.MILLISECONDS)) {
        LOG.info(() -> "stopping: waiting up to " + grace.toSeconds() + " s for " + what);
        if (!executor.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
          LOG.warning(() -> "stopping without waiting longer for " + what);
        }
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
