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
import dev.edgelm.proto.v1.HubSource;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicReference;
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
 * variant's manifest is the one served, only the index digest is recorded; otherwise the variant is
 * pulled and handed to the {@link Swapper}, which loads and warms it and swaps it in on the loader
 * thread (see {@link ModelRegistry#swap}). Any failure leaves the serving variant in place and is
 * reported in Describe's {@code update_error}.
 *
 * <p>Threading: thread-safe; every method that touches the hub blocks and runs on hub threads.
 */
final class HubReleases implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(HubReleases.class.getName());

  /** Loads, warms and swaps in a pulled variant (on the loader thread); completes when it has. */
  @FunctionalInterface
  interface Swapper {
    CompletableFuture<Void> swap(ServedModel sm, InstalledVariant variant, Selection selection);
  }

  /** What a Pull RPC pulled: the variant and the selection that chose it. */
  record Pulled(InstalledVariant variant, Selection selection) {}

  private final DaemonConfig config;
  private final HubModels hub;
  private final ExecutorService hubExecutor;
  private final Scheduler scheduler;
  private final Clock clock;
  private final Swapper swapper;
  /** Probes the host for selections; the second never measures bandwidth (a pinned variant is not ranked). */
  private final HostProbe hostProbe;
  private final HostProbe hostProbeNoMeasuring;
  private final VariantSelector selector;
  private volatile boolean closed;
  /** Tag checks scheduled and not yet started, so that close() can cancel them. */
  private final Set<Scheduler.Cancellable> pendingPolls = ConcurrentHashMap.newKeySet();

  HubReleases(DaemonConfig config, DaemonRuntime runtime, HubModels hub, ExecutorService hubExecutor, Scheduler scheduler,
      VariantSelector.CandidateBenchmark benchmark, Swapper swapper) {
    this.config = config;
    this.hub = hub;
    this.hubExecutor = hubExecutor;
    this.scheduler = scheduler;
    this.clock = runtime.clock();
    this.swapper = swapper;
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
   * Resolves the model's reference, selects a variant for this host, and pulls only that one; then
   * starts following the tag. Hub thread.
   *
   * @throws NoSuitableVariantException when no variant suits the host (nothing was downloaded)
   */
  Path pullSelected(ServedModel sm) {
    try {
      return pullSelectedOnce(sm);
    } catch (RuntimeException e) {
      schedulePoll(sm); // follow the tag even when this release failed: a fixed one replaces it
      throw e;
    }
  }

  private Path pullSelectedOnce(ServedModel sm) {
    Release release = hub.resolve(sm.reference);
    Selection selection = select(release, sm.policy);
    sm.selection = selection;
    sm.lastCheckedMillis = clock.millis();
    NoSuitableVariantException none = selection.failure();
    if (none != null) {
      LOG.warning(() -> "model " + sm.name + ": " + selection.reason());
      schedulePoll(sm); // a later release may suit the host
      throw none;
    }
    Selection.Verdict chosen = selection.chosen().orElseThrow();
    LOG.info(() -> "model " + sm.name + ": pulling variant " + chosen.id() + " of " + sm.reference + " (" + chosen.reason() + ")");
    InstalledVariant v = hub.pull(release, chosen.id(), ProgressListener.NONE);
    sm.pulled = HubModels.source(sm.reference, v);
    sm.descriptor = v.descriptor();
    sm.executionProvider = chosen.executionProvider();
    schedulePoll(sm);
    return v.packageDir();
  }

  /**
   * Pulls a variant for the Pull RPC on a hub thread (the pinned one, or the one selected for this
   * host under {@code policy}), calling {@code done} there with the result or the failure. Cancelling
   * the returned future interrupts the pull (the hub client then stops).
   */
  Future<?> pullForClient(String reference, SelectionPolicy policy, ProgressListener listener, BiConsumer<Pulled, Throwable> done) {
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
    AtomicReference<Scheduler.Cancellable> handle = new AtomicReference<>();
    Scheduler.Cancellable scheduled = scheduler.schedule(() -> {
      pendingPolls.remove(handle.get());
      try {
        hubExecutor.execute(() -> {
          try {
            checkForUpdate(sm);
          } finally {
            sm.polling.set(false);
            schedulePoll(sm);
          }
        });
      } catch (RejectedExecutionException e) {
        sm.polling.set(false); // shutting down
      }
    }, interval);
    handle.set(scheduled);
    pendingPolls.add(scheduled);
    if (closed) {
      scheduled.cancel();
    }
  }

  private static boolean followsTag(String reference) {
    Reference r = Reference.parse(reference);
    return r.tag().isPresent() && r.digest().isEmpty();
  }

  /** One check of the model's tag (see the class comment). Hub thread. */
  void checkForUpdate(ServedModel sm) {
    if (closed) {
      return;
    }
    try {
      Release release = hub.resolve(sm.reference);
      sm.lastCheckedMillis = clock.millis();
      HubSource current = sm.pulled;
      if (current != null && release.indexDigest().toString().equals(current.getIndexDigest())) {
        sm.updateError = "";
        return;
      }
      Selection selection = select(release, sm.policy);
      NoSuitableVariantException none = selection.failure();
      if (none != null) {
        throw none;
      }
      Selection.Verdict chosen = selection.chosen().orElseThrow();
      if (current != null && chosen.manifestDigest().equals(current.getManifestDigest())) {
        sm.pulled = current.toBuilder().setIndexDigest(release.indexDigest().toString()).build();
        sm.selection = selection;
        sm.updateError = "";
        LOG.info(() -> "model " + sm.name + ": " + sm.reference + " moved to " + release.indexDigest() + "; variant " + chosen.id()
            + " is unchanged");
        return;
      }
      LOG.info(() -> "model " + sm.name + ": " + sm.reference + " moved to " + release.indexDigest() + "; pulling variant " + chosen.id()
          + " (" + chosen.reason() + ")");
      InstalledVariant v = hub.pull(release, chosen.id(), ProgressListener.NONE);
      swapper.swap(sm, v, selection).join();
      sm.updateError = "";
    } catch (RuntimeException e) {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      sm.updateError = StatusMapper.map(cause).message();
      LOG.warning(() -> "model " + sm.name + ": checking " + sm.reference + " failed; still serving what it has: " + sm.updateError);
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
