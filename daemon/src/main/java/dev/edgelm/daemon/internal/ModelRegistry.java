package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.DaemonRuntime;
import dev.edgelm.daemon.ModelLoader;
import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.UnknownModelException;
import dev.edgelm.engine.Ticker;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.proto.v1.ModelState;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The models the daemon knows ({@link ServedModel}, by name) and their lifecycle: load on demand or
 * at start, failures and retries, pin, unload, blue/green swap, stop.
 *
 * <h2>Design</h2>
 *
 * <p>Three parts, each with one owner: {@link ModelCache} decides what is in memory (Caffeine,
 * weights + KV budget against {@code cache.memory_budget}, keep-alive, pins, room-making);
 * {@link ModelLoads} turns a package into a {@link LoadedModel} on the loader thread (one pipeline for
 * a first load and a swap); {@link HubReleases} resolves a hub model's release, selects its variant,
 * pulls it and follows its tag on the hub threads. The registry ties them together and is the only
 * writer of a model entry's state.
 *
 * <p>A first load ({@link FirstLoads}): (hub threads: select and pull, unless the package is in the store) then (loader
 * thread: {@link ModelLoads#open}); the cache holds the future meanwhile, so concurrent requests share
 * one load. A swap ({@link #swap}) opens the new variant with the same pipeline, warmed, beside the
 * serving model, then puts it in the cache in its place: new streams lease the new model, streams in
 * flight keep their lease on the old one, which is retired and closed when the last of them ends.
 *
 * <p>A preloaded model whose load fails because the hub is unreachable is tried again on the injected
 * {@link Scheduler}, after {@link Preloads#RETRY}'s backoff; a request retries a transient failure only
 * after {@link LoadFailures#retryBackoff} (on the injected ticker), and never a permanent one.
 *
 * <p>Threading: thread-safe. {@link #acquire} and {@link #load} never block (event loops call them);
 * names are {@link ModelNames}'. Threads: one loader thread ({@link ModelLoads}), two hub
 * threads (selection, pulls, tag checks), one cache thread (Caffeine maintenance, closing retired
 * models, and the default scheduler). {@link #close} stops them all.
 */
final class ModelRegistry implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ModelRegistry.class.getName());

  private final DaemonConfig config;
  private final Ticker ticker;
  private final Telemetry telemetry;
  private final HubModels hub;
  private final RegistryThreads threads;
  private final ModelCache cache;
  private final ModelLoads loads;
  private final HubReleases releases;
  private final FirstLoads firstLoads;
  private final ModelNames names = new ModelNames();
  private final List<Runnable> stateListeners = new CopyOnWriteArrayList<>();
  private final Preloads preloads;
  private volatile boolean closed;

  ModelRegistry(DaemonConfig config, ModelLoader loader, Ticker ticker, Telemetry telemetry) {
    this(config, DaemonRuntime.DEFAULTS.withLoader(loader).withTicker(ticker), telemetry);
  }

  ModelRegistry(DaemonConfig config, DaemonRuntime runtime, Telemetry telemetry) {
    this.config = config;
    this.ticker = runtime.ticker();
    this.telemetry = telemetry;
    this.hub = new HubModels(config.hub());
    this.threads = new RegistryThreads(runtime.scheduler());
    this.cache = new ModelCache(config.cache().memoryBudgetBytes(), config.cache().keepAlive(), ticker, threads.cacheTasks, threads.cache, telemetry,
        this::left);
    this.loads = new ModelLoads(runtime.loader(), config.runtime().sessionSettings(), cache, config.generation().maxContext(), ticker,
        threads.cacheTasks);
    this.releases = new HubReleases(config, runtime, hub, threads.hub, threads.scheduler,
        new HubBenchmark(hub, runtime.loader(), config.runtime().sessionSettings()),
        this::follow);
    // Weighing happens when Caffeine sees the completed future; fix the maximum once it has.
    this.firstLoads = new FirstLoads(loads, releases, threads.hub, ticker, telemetry, () -> threads.cacheTasks.execute(this::weightsChanged));
    this.preloads = new Preloads(threads.scheduler, this::load);
    for (DaemonConfig.Model spec : config.models()) {
      add(spec, true);
    }
  }

  /**
   * Registers a model by name; returns the existing one when the name is known with the same source.
   *
   * @throws BadRequestException when the name is taken by another source
   */
  ServedModel add(DaemonConfig.Model spec, boolean configured) {
    return names.add(spec.name(), sm -> sm.sameSource(spec), () -> new ServedModel(spec, configured, config.selectionPolicy(spec)));
  }

  /** Removes a model that is neither configured nor in memory (a failed Load of a new name). */
  void forget(ServedModel sm) {
    if (!sm.configured && loadedNow(sm.name) == null) {
      names.remove(sm);
    }
  }

  /** @throws UnknownModelException when no model has this name */
  ServedModel served(String name) {
    return names.get(name);
  }

  List<ServedModel> all() {
    return names.all();
  }

  /** Runs {@code listener} (on a loader or cache thread) whenever a model is loaded, fails or leaves memory. */
  void onStateChange(Runnable listener) {
    stateListeners.add(listener);
  }

  /**
   * A lease on the model when it is in memory. Otherwise starts loading it and throws: the model's
   * last permanent failure (a package it cannot run, too large for the budget) as is, else
   * {@link NotReadyException} (UNAVAILABLE: retry shortly).
   */
  LoadedModel.Lease acquire(ServedModel sm) {
    LoadedModel m = loadedNow(sm.name);
    if (m != null) {
      LoadedModel.Lease lease = m.acquire(ticker.read());
      if (lease != null) {
        telemetry.cacheHit(sm.name);
        return lease;
      }
    }
    telemetry.cacheMiss(sm.name);
    ServedState state = sm.state();
    Throwable last = state.lastFailure();
    LoadFailures.refuseRetry(sm, state, ticker.read()); // a permanent failure, or a transient one within its backoff
    load(sm);
    if (LoadFailures.permanent(last)) {
      throw (RuntimeException) last;
    }
    throw new NotReadyException("model '" + sm.name + "' is loading" + (last != null ? " (the last attempt failed: " + last.getMessage() + ")" : "")
        + "; retry shortly");
  }

  /** Touches the model so that keep-alive counts from now (a stream just finished with it). */
  void touch(ServedModel sm) {
    cache.touch(sm.name);
  }

  /** Loads the model unless it is loaded or loading; completes when it is in memory. */
  CompletableFuture<LoadedModel> load(ServedModel sm) {
    if (closed) {
      return CompletableFuture.failedFuture(new NotReadyException("the daemon is shutting down"));
    }
    CompletableFuture<LoadedModel> f = cache.get(sm.name, () -> firstLoads.start(sm));
    ServedModel.LoadAttempt a = sm.attempt;
    return a != null && a.loaded() == f ? a.settled() : f;
  }

  /** The model's own selection, pull and tag polls (hub side; {@link #swap} is called back on the loader thread). */
  HubReleases releases() {
    return releases;
  }

  /** Records what a Pull RPC pulled for {@code sm} under {@code selection}: the next load opens it. */
  void pulled(ServedModel sm, InstalledVariant v, Selection selection) {
    sm.update(s -> s.withVariant(v, selection));
  }

  /** Records a tag check (hub thread); a new variant is swapped in on the loader thread, and this waits for it. */
  private void follow(ServedModel sm, HubReleases.Check check) {
    Throwable failure = check instanceof HubReleases.Failed f ? f.cause() : null;
    if (check instanceof HubReleases.Moved m) {
      sm.update(s -> s.withVariant(m.variant(), m.selection()));
    } else if (check instanceof HubReleases.NewVariant n) {
      try {
        CompletableFuture.runAsync(() -> swap(sm, n.variant(), n.selection()), loads.executor()).join();
      } catch (RuntimeException e) {
        failure = LoadFailures.unwrap(e);
      }
    }
    String error = failure == null ? "" : StatusMapper.map(failure).message();
    sm.update(s -> s.checked(check.checkedMillis(), error));
    if (failure != null) {
      LOG.warning(() -> "model " + sm.name + ": checking " + sm.reference + " failed; still serving what it has: " + error);
    }
  }

  /**
   * Loads and warms the new variant beside the serving one, then makes it the one new streams get;
   * the old model is retired (closed when its last stream ends). A model not in memory only records
   * the new variant (the next load opens it), and loads it now if it never could. Loader thread.
   */
  void swap(ServedModel sm, InstalledVariant v, Selection selection) {
    long start = ticker.read();
    LoadedModel old = loadedNow(sm.name);
    if (old == null) {
      ServedState s = sm.update(st -> st.withVariant(v, selection));
      if (s.status() == ModelState.MODEL_STATE_FAILED || (sm.configured && sm.preload && !s.everLoaded())) {
        sm.update(ServedState::withoutFailure);
        load(sm);
      }
      return;
    }
    LoadedModel m = loads.open(sm, loads.read(v.packageDir()), selection.chosen().orElseThrow().executionProvider(), true);
    sm.update(s -> s.withVariant(v, selection).withLoaded(m, (ticker.read() - start) / 1e9)); // one step: Describe never mixes the two
    CompletableFuture<LoadedModel> f = CompletableFuture.completedFuture(m);
    sm.attempt = new ServedModel.LoadAttempt(f, f);
    cache.put(m); // the cache retires the old model
    telemetry.modelSwapped(sm.name);
    LOG.info(() -> "model " + sm.name + ": swapped in variant " + v.variantId() + " (" + v.manifestDigest() + "); the previous one drains "
        + old.leases() + " streams");
    threads.cacheTasks.execute(this::weightsChanged);
  }

  private void weightsChanged() {
    cache.updateMaximum();
    stateChanged();
  }

  /** The cache dropped {@code m} for good (cache thread). */
  private void left(String name, LoadedModel m) {
    if (cache.absent(name)) {
      m.served.update(ServedState::leftMemory);
    }
    stateChanged();
  }

  private void stateChanged() {
    for (Runnable r : stateListeners) {
      try {
        r.run();
      } catch (RuntimeException e) {
        LOG.log(Level.WARNING, "state listener failed", e);
      }
    }
  }

  /**
   * Pins or unpins a model. A loaded model is re-weighed at once.
   *
   * @throws ModelTooLargeException when pinning it would leave pinned models above the budget
   */
  synchronized void pin(ServedModel sm, boolean pinned) {
    LoadedModel m = loadedNow(sm.name);
    if (pinned && m != null) {
      cache.ensurePinnable(m);
    }
    sm.update(s -> s.withPinned(pinned));
    cache.reweigh(m);
  }

  /** Drops the model from memory (streams using it finish first); false when it was not loaded. */
  boolean unload(ServedModel sm) {
    boolean removed = cache.remove(sm.name);
    if (removed && loadedNow(sm.name) == null) {
      sm.update(ServedState::leftMemory); // now, not when the removal listener gets to it: Unload answers with this state
    }
    return removed;
  }

  /** Whether every configured model with preload has been loaded at least once. */
  boolean preloadsReady() {
    for (ServedModel sm : all()) {
      if (sm.configured && sm.preload && !sm.state().everLoaded()) {
        return false;
      }
    }
    return true;
  }

  /** Starts loading every configured model with preload; retryable failures (hub unreachable) retry with backoff. */
  void preloadAll() {
    for (ServedModel sm : all()) {
      if (sm.configured && sm.preload) {
        preloads.start(sm);
      }
    }
  }

  /** The model if it is in memory now (a completed load), else null. */
  LoadedModel loadedNow(String name) {
    return cache.loadedNow(name);
  }

  /** Bytes the loaded models weigh, and how many there are (for gauges). */
  long[] weightAndCount() {
    return cache.weightAndCount();
  }

  /** Runs pending cache maintenance now (tests with a fake ticker). */
  void cleanUp() {
    cache.cleanUp();
  }

  /** Drops every model (each closes once its streams finish) and stops the loader threads. */
  @Override
  public void close() {
    closed = true;
    releases.close();
    preloads.close();
    threads.stopHub();
    loads.close(); // waits for a load inside ONNX Runtime, whose model then closes with the rest
    cache.invalidateAll();
    hub.close();
    threads.stopCache();
  }
}
