package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Scheduler;
import dev.edgelm.hub.HubException;
import dev.edgelm.hub.RetryPolicy;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.logging.Logger;

/**
 * Loads the configured models marked preload, and tries again while the hub is unreachable: a
 * retryable {@link HubException} schedules the next attempt on the injected {@link Scheduler}
 * after {@link #RETRY}'s backoff (so tests advance a clock instead of waiting). Other failures are
 * not retried here: a request or the tag poll tries again.
 *
 * <p>Threading: thread-safe; retries run where the scheduler runs them and only start a load (which
 * never blocks).
 */
final class Preloads {
  private static final Logger LOG = Logger.getLogger(Preloads.class.getName());
  /** Backoff between preload attempts while the hub is unreachable: 1 s doubling to 1 min, no jitter (one daemon). */
  static final RetryPolicy RETRY = new RetryPolicy(Integer.MAX_VALUE, Duration.ofSeconds(1), Duration.ofMinutes(1), 0, Duration.ZERO);

  private final Scheduler scheduler;
  private final Function<ServedModel, CompletableFuture<?>> load;
  /** Retries scheduled and not yet started, so that close() can cancel them. */
  private final Set<Scheduler.Cancellable> pending = ConcurrentHashMap.newKeySet();
  private volatile boolean closed;

  Preloads(Scheduler scheduler, Function<ServedModel, CompletableFuture<?>> load) {
    this.scheduler = scheduler;
    this.load = load;
  }

  /** Starts loading {@code sm}, retrying while the hub is unreachable. */
  void start(ServedModel sm) {
    attempt(sm, 1);
  }

  private void attempt(ServedModel sm, int attempt) {
    load.apply(sm).whenComplete((m, e) -> {
      if (LoadFailures.unwrap(e) instanceof HubException h && h.isRetryable() && !closed) {
        Duration backoff = RETRY.backoff(attempt);
        LOG.info(() -> "will retry loading " + sm.name + " in " + backoff.toSeconds() + " s");
        Scheduler.Cancellable retry = RegistryThreads.scheduleTracked(scheduler, pending, () -> attempt(sm, attempt + 1), backoff);
        if (closed) {
          retry.cancel();
          pending.remove(retry);
        }
      }
    });
  }

  /** Cancels the retries that are due and schedules no more. */
  void close() {
    closed = true;
    pending.forEach(Scheduler.Cancellable::cancel);
    pending.clear();
  }
}
