package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.DaemonRuntime;
import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostProbe;
import dev.edgelm.daemon.NoSuitableVariantException;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.BiConsumer;
import java.util.logging.Logger;

/**
 * The hub side of hub models: resolve the release, select a variant for this host
 * ({@link VariantSelector}, from the index and configs only), pull only that one; and follow a tag.
 *
 * <h2>Following a tag</h2>
 *
 * <p>After a model's first pull, when its reference names a tag (not a digest) and
 * {@code hub.poll_interval} is not zero, a check is scheduled on the injected {@link Scheduler}; it
 * runs on a hub thread and schedules the next when it ends (at most one per model). A check resolves
 * the tag; an unchanged index digest ends it. A new release is selected from; when the chosen
 * variant's manifest is the one served, only the index digest changes; otherwise the variant is
 * pulled. The check's outcome is a {@link Check} value handed to the {@link Follower} (the registry),
 * which records it and, for a new variant, loads, warms and swaps it in on the loader thread (see
 * {@link ModelRegistry#swap}). Any failure leaves the serving variant in place and is reported in
 * Describe's {@code update_error}.
 *
 * <p>This class writes no state of a model entry: it returns what it resolved, selected and pulled
 * ({@link Selected}, {@link InstalledVariant}, {@link Check}), and the registry records it.
 *
 * <p>Threading: thread-safe; every method that touches the hub blocks and runs on hub threads.
 */
final class HubReleases implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HubReleases.class.getName());

  /** Records a tag check's outcome, swapping in a new variant; runs on the hub thread that made the check. */
  @FunctionalInterface
  interface Follower {
    void follow(ServedModel sm, Check check);
  }

  /** A release resolved and a selection made from it, at {@code checkedMillis} (epoch ms). */
  record Selected(Release release, Selection selection, long checkedMillis) {}

  /** What one check of a followed tag found. {@code checkedMillis} is when the tag was read (0: it was not). */
  sealed interface Check permits Unchanged, Moved, NewVariant, Failed {
    long checkedMillis();
  }

  /** The tag names the release served. */
  record Unchanged(long checkedMillis) implements Check {}

  /** The tag moved, but the variant chosen from the new release is the one served ({@code variant}, with the new index digest). */
  record Moved(long checkedMillis, InstalledVariant variant, Selection selection) implements Check {}

  /** The tag moved and another variant was chosen and pulled: swap it in. */
  record NewVariant(long checkedMillis, InstalledVariant variant, Selection selection) implements Check {}

  /** The check failed; what is served stays. */
  record Failed(long checkedMillis, Throwable cause) implements Check {}

  /** What a Pull RPC pulled: the variant and the selection that chose it. */
  record Pulled(InstalledVariant variant, Selection selection) {}

  private final DaemonConfig config;
  private final HubModels hub;
  private final ExecutorService hubExecutor;
  private final Scheduler scheduler;
  private final Clock clock;
  private final Follower follower;
  /** Probes the host for selections; the second never measures bandwidth (a pinned variant is not ranked). */
  private final HostProbe hostProbe;
  private final HostProbe hostProbeNoMeasuring;
  private final VariantSelector selector;
  private volatile boolean closed;
  /** Tag checks scheduled and not yet started, so that close() can cancel them. */
  private final Set<Scheduler.Cancellable> pendingPolls = ConcurrentHashMap.newKeySet();

  HubReleases(DaemonConfig config, DaemonRuntime runtime, HubModels hub, ExecutorService hubExecutor, Scheduler scheduler,
      VariantSelector.CandidateBenchmark benchmark, Follower follower) {
    this.config = config;
    this.hub = hub;
    this.hubExecutor = hubExecutor;
    this.scheduler = scheduler;
    this.clock = runtime.clock();
    this.follower = follower;
    this.hostProbe = runtime.hostProbe().orElseGet(() -> HostProbe.create(config.host().probeOptions()));
    this.hostProbeNoMeasuring = runtime.hostProbe().orElseGet(() -> HostProbe.create(config.host().probeOptions().withMeasureBandwidth(false)));
    this.selector = VariantSelector.create(VariantSelector.Options.INDEX_ONLY
        .withDescriptors(hub::descriptor)
        .withBenchmark(benchmark, config.host().cacheDir())
        .withClock(clock));
  }

  /** Selects a variant of {@code release} for this host under {@code policy} (probes, fetches configs). */
  Selection select(Release release, SelectionPolicy policy) {
    HostCapabilities host = (policy.pinnedVariant() != null ? hostProbeNoMeasuring : hostProbe).probe();
    return selector.select(release, host, policy);
  }

  /**
   * Resolves the model's reference and selects a variant for this host (index and configs only). A
   * failure still starts following the tag: a fixed release may replace this one. Hub thread.
   */
  Selected select(ServedModel sm) {
    try {
      Release release = hub.resolve(sm.reference);
      long checked = clock.millis();
      return new Selected(release, select(release, sm.policy), checked);
    } catch (RuntimeException e) {
      schedulePoll(sm);
      throw e;
    }
  }

  /**
   * Pulls only the variant {@code s} chose, then follows the tag. Hub thread.
   *
   * @throws NoSuitableVariantException when no variant suits the host (nothing was downloaded)
   */
  InstalledVariant pull(ServedModel sm, Selected s) {
    try {
      NoSuitableVariantException none = s.selection().failure();
      if (none != null) {
        LOG.warning(() -> "model " + sm.name + ": " + s.selection().reason());
        throw none; // a later release may suit the host
      }
      Selection.Verdict chosen = s.selection().chosen().orElseThrow();
      LOG.info(() -> "model " + sm.name + ": pulling variant " + chosen.id() + " of " + sm.reference + " (" + chosen.reason() + ")");
      return hub.pull(s.release(), chosen.id(), ProgressListener.NONE);
    } finally {
      schedulePoll(sm);
    }
  }

  /**
   * Pulls a variant for the Pull RPC on a hub thread (the pinned one, or the one selected for this
   * host under {@code policy}), calling {@code done} there with the result or the failure. Cancelling
   * the returned future interrupts the pull (the hub client then stops).
   */
  Future<?> pullForClient(Reference reference, SelectionPolicy policy, ProgressListener listener, BiConsumer<Pulled, Throwable> done) {
    return hubExecutor.submit(() -> {
      Pulled p;
      try {
        Release release = hub.resolve(reference);
        Selection selection = select(release, policy);
        NoSuitableVariantException none = selection.failure();
        if (none != null) {
          throw none;
        }
        p = new Pulled(hub.pull(release, selection.chosen().orElseThrow().id(), listener), selection);
      } catch (RuntimeException e) {
        done.accept(null, e);
        return;
      }
      done.accept(p, null);
    });
  }

  /** Schedules the next check of the model's tag, unless one is scheduled, the reference pins a digest, or polling is off. */
  private void schedulePoll(ServedModel sm) {
    Duration interval = config.hub().pollInterval();
    if (closed || interval.isZero() || config.hub().offline() || !followsTag(sm.reference) || !sm.polling.compareAndSet(false, true)) {
      return;
    }
    Scheduler.Cancellable scheduled = RegistryThreads.scheduleTracked(scheduler, pendingPolls, () -> {
      try {
        hubExecutor.execute(() -> {
          try {
            follower.follow(sm, checkForUpdate(sm));
          } finally {
            sm.polling.set(false);
            schedulePoll(sm);
          }
        });
      } catch (RejectedExecutionException e) {
        sm.polling.set(false); // shutting down
      }
    }, interval);
    if (closed) {
      scheduled.cancel();
    }
  }

  private static boolean followsTag(Reference r) {
    return r.tag().isPresent() && r.digest().isEmpty();
  }

  /** One check of the model's tag (see the class comment): what it found, for the {@link Follower}. Hub thread. */
  Check checkForUpdate(ServedModel sm) {
    long checked = 0;
    try {
      Release release = hub.resolve(sm.reference);
      checked = clock.millis();
      InstalledVariant current = sm.state().pulled();
      if (current != null && release.indexDigest().equals(current.indexDigest())) {
        return new Unchanged(checked);
      }
      Selection selection = select(release, sm.policy);
      NoSuitableVariantException none = selection.failure();
      if (none != null) {
        throw none;
      }
      Selection.Verdict chosen = selection.chosen().orElseThrow();
      if (current != null && current.manifestDigest().equals(chosen.manifestDigest())) {
        LOG.info(() -> "model " + sm.name + ": " + sm.reference + " moved to " + release.indexDigest() + "; variant " + chosen.id()
            + " is unchanged");
        return new Moved(checked, new InstalledVariant(current.reference(), release.indexDigest(), current.variantId(),
            current.manifestDigest(), current.packageDir(), current.descriptor(), current.bytesDownloaded(), current.bytesReused()), selection);
      }
      LOG.info(() -> "model " + sm.name + ": " + sm.reference + " moved to " + release.indexDigest() + "; pulling variant " + chosen.id()
          + " (" + chosen.reason() + ")");
      return new NewVariant(checked, hub.pull(release, chosen.id(), ProgressListener.NONE), selection);
    } catch (RuntimeException e) {
      return new Failed(checked, e);
    }
  }

  /** Stops scheduling checks and cancels those due (those running finish; the hub threads are the registry's to stop). */
  @Override
  public void close() {
    closed = true;
    for (Scheduler.Cancellable c : pendingPolls) {
      c.cancel();
    }
    pendingPolls.clear();
  }
}
