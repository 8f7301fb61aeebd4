package dev.edgelm.daemon.internal;

import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.DaemonRuntime;
import dev.edgelm.daemon.NoSuitableVariantException;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.ModelLoader;
import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.ServableModel;
import dev.edgelm.daemon.UnknownModelException;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.Ticker;
import dev.edgelm.hub.HubException;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.proto.v1.HubSource;
import dev.edgelm.proto.v1.ModelState;
import dev.edgelm.proto.v1.VariantDescriptor;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.RequestRejectedException;
import dev.edgelm.hub.SignatureRejectedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The models the daemon knows ({@link ServedModel}, by name) and the Caffeine cache of those in
 * memory ({@link LoadedModel}).
 *
 * <h2>Design</h2>
 *
 * <p>Each loaded model weighs its resident bytes plus a KV budget (bytes per token x context x
 * max_concurrent) against {@code cache.memory_budget}. Pinned models weigh zero inside Caffeine and
 * never expire; the cache's maximum is the budget minus what pinned models weigh, so they still
 * count. Unpinned models expire after {@code cache.keep_alive} without use.
 *
 * <p>Before loading, the registry checks that the model can fit at all (else
 * {@link ModelTooLargeException}: FAILED_PRECONDITION) and makes room itself by evicting the least
 * recently used unpinned models, idle ones first. Caffeine's own size eviction is only a backstop:
 * its TinyLFU admission would otherwise prefer a frequently used model over the one just loaded,
 * and a client that asked for a model would see it thrown away.
 *
 * <p>A model the cache drops while streams still use it is retired, not closed: each stream holds a
 * {@link LoadedModel.Lease}, and the last release closes the session on the cache thread. Loads run
 * on one loader thread (so room-making decisions do not race), after any hub pull on the hub threads.
 *
 * <p>A hub model's package comes from {@link HubReleases}: the release resolved, a variant selected
 * for this host ({@link VariantSelector}, from the index and variant configs: no weights), only that
 * variant pulled, and the tag followed. When a moved tag brings another variant, {@link #swap} loads
 * and warms it beside the serving model and puts it in the cache in its place (blue/green): new
 * streams lease the new model, streams in flight keep their lease on the old one, which is retired
 * and closed when the last of them ends. Both are in memory meanwhile.
 *
 * <p>Threading: thread-safe. {@link #acquire} and {@link #load} never block (event loops call them);
 * loads complete their futures on the loader thread; selections, pulls and release checks run on the
 * hub threads.
 */
final class ModelRegistry implements AutoCloseable {
  private static final Logger LOG = Logger.getLogger(ModelRegistry.class.getName());
  /** How long a stop waits for a model load in progress (session creation cannot be interrupted). */
  static final Duration LOAD_GRACE = Duration.ofSeconds(60);
  static final Duration MAX_RETRY_BACKOFF = Duration.ofMinutes(5);
  /** Caffeine logs every failed asynchronous load at WARNING; we log them ourselves, with the model's name. */
  private static final Logger CAFFEINE_LOG = Logger.getLogger("com.github.benmanes.caffeine.cache");

  static {
    CAFFEINE_LOG.setLevel(Level.SEVERE);
  }

  private final DaemonConfig config;
  private final ModelLoader loader;
  private final SessionSettings sessionSettings;
  private final Ticker ticker;
  private final Telemetry telemetry;
  private final HubModels hub;
  private final long budgetBytes;
  private final ExecutorService loadExecutor;
  private final ExecutorService hubExecutor;
  private final ScheduledExecutorService cacheExecutor;
  /** Runs on the cache thread, or inline once it has shut down (late removals still close their models). */
  private final Executor cacheTasks;
  private final Map<String, ServedModel> models = new LinkedHashMap<>();
  private final AsyncCache<String, LoadedModel> cache;
  private final List<Runnable> stateListeners = new CopyOnWriteArrayList<>();
  private final HubReleases releases;
  private volatile boolean closed;

  ModelRegistry(DaemonConfig config, ModelLoader loader, Ticker ticker, Telemetry telemetry) {
    this(config, DaemonRuntime.DEFAULTS.withLoader(loader).withTicker(ticker), telemetry);
  }

  ModelRegistry(DaemonConfig config, DaemonRuntime runtime, Telemetry telemetry) {
    this.config = config;
    this.loader = runtime.loader();
    this.sessionSettings = config.runtime().sessionSettings();
    this.ticker = runtime.ticker();
    this.telemetry = telemetry;
    this.hub = new HubModels(config.hub());
    this.budgetBytes = config.cache().memoryBudgetBytes();
    this.loadExecutor = Executors.newSingleThreadExecutor(threads("edgelm-load"));
    this.hubExecutor = Executors.newFixedThreadPool(2, threads("edgelm-hub"));
    ScheduledThreadPoolExecutor cacheThread = new ScheduledThreadPoolExecutor(1, threads("edgelm-cache"));
    cacheThread.setExecuteExistingDelayedTasksAfterShutdownPolicy(false); // a tag poll due in an hour must not hold up a stop
    this.cacheExecutor = cacheThread;
    this.cacheTasks = r -> {
      try {
        cacheExecutor.execute(r);
      } catch (RejectedExecutionException e) {
        r.run();
      }
    };
    Scheduler scheduler = runtime.scheduler().orElse((task, delay) -> {
      try {
        java.util.concurrent.ScheduledFuture<?> f = cacheExecutor.schedule(task, delay.toMillis(), TimeUnit.MILLISECONDS);
        return () -> f.cancel(false);
      } catch (RejectedExecutionException e) {
        return () -> { }; // shutting down
      }
    });
    this.releases = new HubReleases(config, runtime, hub, hubExecutor, scheduler, new HubBenchmark(hub, loader, sessionSettings),
        (sm, v, selection) -> CompletableFuture.runAsync(() -> swap(sm, v, selection), loadExecutor));
    Duration keepAlive = config.cache().keepAlive();
    this.cache = Caffeine.newBuilder()
        .executor(cacheTasks)
        .scheduler((executor, command, delay, unit) -> {
          try {
            return cacheExecutor.schedule(() -> executor.execute(command), delay, unit);
          } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(null); // shutting down: nothing left to expire
          }
        })
        .ticker(ticker::read)
        .maximumWeight(kib(budgetBytes))
        .weigher((String name, LoadedModel m) -> m.served.pinned ? 0 : (int) Math.min(Integer.MAX_VALUE, kib(m.weightBytes)))
        .expireAfter(new Expiry<String, LoadedModel>() {
          private long ttl(LoadedModel m) {
            return m.served.pinned || keepAlive.isZero() ? Long.MAX_VALUE : keepAlive.toNanos();
          }

          @Override
          public long expireAfterCreate(String key, LoadedModel m, long now) {
            return ttl(m);
          }

          @Override
          public long expireAfterUpdate(String key, LoadedModel m, long now, long current) {
            return ttl(m);
          }

          @Override
          public long expireAfterRead(String key, LoadedModel m, long now, long current) {
            return ttl(m);
          }
        })
        .removalListener((String name, LoadedModel m, RemovalCause cause) -> removed(name, m, cause))
        .buildAsync();
    for (DaemonConfig.Model spec : config.models()) {
      add(spec, true);
    }
  }

  static ThreadFactory threads(String prefix) {
    AtomicInteger n = new AtomicInteger();
    return r -> {
      Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    };
  }

  private static long kib(long bytes) {
    return (bytes + 1023) / 1024;
  }

  /**
   * Registers a model by name; returns the existing one when the name is known with the same source.
   *
   * @throws BadRequestException when the name is taken by another source
   */
  synchronized ServedModel add(DaemonConfig.Model spec, boolean configured) {
    ServedModel existing = models.get(spec.name());
    if (existing != null) {
      if (!existing.sameSource(spec)) {
        throw new BadRequestException("model name '" + spec.name() + "' is already taken by " + describeSource(existing)
            + "; choose another name or unload it first");
      }
      return existing;
    }
    ServedModel sm = new ServedModel(spec, configured, config.selectionPolicy(spec));
    models.put(spec.name(), sm);
    return sm;
  }

  private static String describeSource(ServedModel sm) {
    return sm.fromHub() ? sm.reference + (sm.variant != null ? " (variant " + sm.variant + ")" : "") : sm.path.toString();
  }

  /** Removes a model that is neither configured nor in memory (a failed Load of a new name). */
  synchronized void forget(ServedModel sm) {
    if (!sm.configured && loadedNow(sm.name) == null && models.get(sm.name) == sm) {
      models.remove(sm.name);
    }
  }

  /** @throws UnknownModelException when no model has this name */
  synchronized ServedModel served(String name) {
    ServedModel sm = models.get(name);
    if (sm == null) {
      throw new UnknownModelException("no model named '" + name + "'; the daemon serves " + (models.isEmpty() ? "none" : String.join(", ", models.keySet())));
    }
    return sm;
  }

  synchronized List<ServedModel> all() {
    return List.copyOf(models.values());
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
    Throwable last = sm.lastFailure;
    if (last != null && sm.fromHub() && permanentHubFailure(last)) {
      // Trying again per request would select and download per request, and fail the same way; the
      // tag poll notices a new release, and Models.Load tries again on demand.
      throw (RuntimeException) last;
    }
    if (last != null && !permanentHubFailure(last) && !(last instanceof ModelTooLargeException || last instanceof ModelPackageException)) {
      long wait = retryBackoff(sm.consecutiveFailures).toNanos() - (ticker.read() - sm.lastFailureNanos);
      if (wait > 0) {
        throw new NotReadyException("model '" + sm.name + "' failed to load (" + last.getMessage() + "); next attempt in "
            + Math.max(1, Math.round(wait / 1e9)) + " s");
      }
    }
    load(sm);
    if (last instanceof ModelTooLargeException || last instanceof ModelPackageException) {
      throw (RuntimeException) last;
    }
    throw new NotReadyException("model '" + sm.name + "' is loading" + (last != null ? " (the last attempt failed: " + last.getMessage() + ")" : "")
        + "; retry shortly");
  }

  /**
   * A hub failure that the same release will give again, whatever the retry: no variant suits the host, the
   * signature is refused, the bytes do not match their digest, the release or reference is invalid or gone, the
   * daemon's credentials are refused. (Unreachable hubs, full disks and store errors are transient.)
   */
  static boolean permanentHubFailure(Throwable t) {
    return t instanceof NoSuitableVariantException || t instanceof SignatureRejectedException || t instanceof IntegrityException
        || t instanceof InvalidReleaseException || t instanceof NotFoundException || t instanceof BadReferenceException
        || t instanceof AuthException || t instanceof RequestRejectedException;
  }

  /** How long after the n-th failure in a row a request may start another load: 1 s, doubling, at most 5 min. */
  static Duration retryBackoff(int failures) {
    Duration d = Duration.ofSeconds(1L << Math.min(Math.max(failures, 1) - 1, 16));
    return d.compareTo(MAX_RETRY_BACKOFF) > 0 ? MAX_RETRY_BACKOFF : d;
  }

  /** Touches the model so that keep-alive counts from now (a stream just finished with it). */
  void touch(ServedModel sm) {
    cache.getIfPresent(sm.name);
  }

  /** Loads the model unless it is loaded or loading; completes when it is in memory. */
  CompletableFuture<LoadedModel> load(ServedModel sm) {
    if (closed) {
      return CompletableFuture.failedFuture(new NotReadyException("the daemon is shutting down"));
    }
    CompletableFuture<LoadedModel> f = cache.get(sm.name, (name, executor) -> startLoad(sm));
    ServedModel.LoadAttempt a = sm.attempt;
    return a != null && a.loaded() == f ? a.settled() : f;
  }

  private CompletableFuture<LoadedModel> startLoad(ServedModel sm) {
    sm.state = ModelState.MODEL_STATE_LOADING;
    long start = ticker.read();
    CompletableFuture<Path> dir;
    HubSource pulled = sm.pulled;
    if (!sm.fromHub()) {
      dir = CompletableFuture.completedFuture(sm.path);
    } else if (pulled != null && Files.isDirectory(Path.of(pulled.getPackageDir()))) {
      dir = CompletableFuture.completedFuture(Path.of(pulled.getPackageDir()));
    } else {
      dir = CompletableFuture.supplyAsync(() -> releases.pullSelected(sm), hubExecutor);
    }
    CompletableFuture<LoadedModel> loaded = dir.thenApplyAsync(d -> loadPackage(sm, d), loadExecutor);
    // The cache holds `loaded`; loadFinished runs once it is complete, so a model reported loaded is
    // one acquire() finds. Callers of load() wait for `settled`, so they see the state it records.
    CompletableFuture<LoadedModel> settled = loaded.whenComplete((m, e) -> loadFinished(sm, m, e, Duration.ofNanos(ticker.read() - start)));
    sm.attempt = new ServedModel.LoadAttempt(loaded, settled);
    return loaded;
  }

  /** The model's own selection, pull and tag polls (hub side; {@link #swap} is called back on the loader thread). */
  HubReleases releases() {
    return releases;
  }

  /**
   * Loads and warms the new variant beside the serving one, then makes it the one new streams get;
   * the old model is retired (closed when its last stream ends). Loader thread.
   */
  void swap(ServedModel sm, InstalledVariant v, Selection selection) {
    Selection.Verdict chosen = selection.chosen().orElseThrow();
    HubSource source = HubModels.source(sm.reference, v);
    LoadedModel old = loadedNow(sm.name);
    if (old == null) {
      // Not in memory: the next load opens the new package. A model that never loaded (nothing
      // suited the host until this release) loads now.
      sm.pulled = source;
      sm.selection = selection;
      sm.descriptor = v.descriptor();
      sm.executionProvider = chosen.executionProvider();
      if (sm.state == ModelState.MODEL_STATE_FAILED || (sm.configured && sm.preload && !sm.everLoaded)) {
        sm.lastFailure = null;
        load(sm);
      }
      return;
    }
    long start = ticker.read();
    LoadedModel m = open(sm, ModelPackage.open(v.packageDir()), settingsFor(chosen.executionProvider()), true);
    if (closed) {
      m.retire();
      return;
    }
    sm.pulled = source;
    sm.selection = selection;
    sm.executionProvider = chosen.executionProvider();
    recordLoaded(sm, m);
    CompletableFuture<LoadedModel> f = CompletableFuture.completedFuture(m);
    sm.attempt = new ServedModel.LoadAttempt(f, f);
    cache.put(sm.name, f); // the removal listener retires the old model
    sm.loadSeconds = (ticker.read() - start) / 1e9;
    telemetry.modelSwapped(sm.name);
    LOG.info(() -> "model " + sm.name + ": swapped in variant " + chosen.id() + " (" + v.manifestDigest() + "); the previous one drains "
        + old.leases() + " streams");
    cacheTasks.execute(() -> {
      updateMaximum();
      stateChanged();
    });
  }

  /** Runs one short generation so the first client stream does not pay for ONNX Runtime's lazy initialisation. */
  static void warm(ServableModel model) {
    // Token ids, not text: any tokenizer has a BOS or a token 0, not every one can spell a word.
    int first = model.languageModel().tokenizer().bosId().orElse(0);
    dev.edgelm.engine.Generation.stream(model.languageModel(), dev.edgelm.engine.GenerationRequest.ofIds(first).withMaxTokens(2), t -> { });
  }

  private SessionSettings settingsFor(String executionProvider) {
    return SessionSettings.EXECUTION_PROVIDERS.contains(executionProvider) ? sessionSettings.withExecutionProvider(executionProvider)
        : sessionSettings;
  }

  private LoadedModel loadPackage(ServedModel sm, Path dir) {
    if (closed) {
      throw new NotReadyException("the daemon is shutting down");
    }
    ModelPackage pkg = ModelPackage.open(dir);
    sm.descriptor = pkg.descriptor(); // shown while it loads, and when it does not fit
    LoadedModel m = open(sm, pkg, sm.fromHub() ? settingsFor(sm.executionProvider) : sessionSettings, false);
    recordLoaded(sm, m);
    if (closed) {
      m.retire();
      throw new NotReadyException("the daemon is shutting down");
    }
    return m;
  }

  /**
   * The one load pipeline, for a first load and a swap alike: checks that {@code pkg} fits the budget beside the pinned
   * models, makes room, loads it (and warms it up when {@code warm}: a swap serves it at once), and weighs its KV
   * budget at the context it serves. Writes nothing of {@code sm}.
   */
  private LoadedModel open(ServedModel sm, ModelPackage pkg, SessionSettings settings, boolean warm) {
    VariantDescriptor d = pkg.descriptor();
    int maxConcurrent = sm.admission.maxConcurrent();
    int ctx = effectiveContext(d.getArchitecture().getContextLength());
    long estimate = pkg.weightBytes() + d.getKvCacheBytesPerToken() * ctx * maxConcurrent;
    ensureFits(sm, estimate, d.getKvCacheBytesPerToken(), ctx);
    makeRoom(sm, estimate);
    ServableModel model = loader.load(pkg, settings);
    if (warm) {
      try {
        warm(model);
      } catch (RuntimeException e) {
        model.close();
        throw e;
      }
    }
    ctx = effectiveContext(model.languageModel().contextLength());
    long kvBudget = model.kvCacheBytesPerToken() * ctx * maxConcurrent;
    return new LoadedModel(sm, model, kvBudget, ctx, cacheTasks, ticker.read());
  }

  /** What Describe shows of the model now in memory. */
  private static void recordLoaded(ServedModel sm, LoadedModel m) {
    sm.descriptor = m.model.descriptor();
    sm.residentBytes = m.model.residentBytes();
    sm.kvBudgetBytes = m.kvBudgetBytes;
    sm.contextLength = m.contextLength;
  }

  int effectiveContext(int modelContext) {
    int cap = config.generation().maxContext();
    return cap > 0 && modelContext > 0 ? Math.min(cap, modelContext) : modelContext;
  }

  /** What the pinned models in memory weigh, {@code except} (a model, or null for none) left out. */
  private long pinnedBytesExcept(ServedModel except) {
    long bytes = 0;
    for (LoadedModel m : loadedAll()) {
      if (m.served != except && m.served.pinned) {
        bytes += m.weightBytes;
      }
    }
    return bytes;
  }

  private void ensureFits(ServedModel sm, long weight, long kvPerToken, int ctx) {
    long pinnedOthers = pinnedBytesExcept(sm);
    if (pinnedOthers + weight > budgetBytes) {
      throw new ModelTooLargeException("model '" + sm.name + "' needs " + Sizes.bytes(weight) + " (weights and a KV budget of "
          + Sizes.bytes(kvPerToken * ctx * sm.admission.maxConcurrent()) + " for " + sm.admission.maxConcurrent() + " x " + ctx
          + " tokens) but cache.memory_budget is " + Sizes.bytes(budgetBytes) + " with " + Sizes.bytes(pinnedOthers)
          + " pinned; raise cache.memory_budget, or lower max_concurrent or generation.max_context");
    }
  }

  /** Evicts least recently used unpinned models (idle ones first) until {@code weight} more fits the budget. */
  private void makeRoom(ServedModel sm, long weight) {
    List<LoadedModel> loaded = loadedAll();
    long used = 0;
    for (LoadedModel m : loaded) {
      if (m.served != sm) {
        used += m.weightBytes;
      }
    }
    List<LoadedModel> victims = new ArrayList<>();
    for (LoadedModel m : loaded) {
      if (m.served != sm && !m.served.pinned) {
        victims.add(m);
      }
    }
    victims.sort(Comparator.comparing((LoadedModel m) -> m.leases() > 0).thenComparingLong(m -> m.lastUsedNanos));
    for (LoadedModel victim : victims) {
      if (used + weight <= budgetBytes) {
        break;
      }
      LOG.info(() -> "evicting model " + victim.served.name + " (" + Sizes.bytes(victim.weightBytes) + ") to make room for " + sm.name);
      victim.evictionCause = "size";
      cache.synchronous().asMap().remove(victim.served.name, victim);
      used -= victim.weightBytes;
    }
  }

  private void loadFinished(ServedModel sm, LoadedModel m, Throwable e, Duration took) {
    sm.loadSeconds = took.toNanos() / 1e9;
    if (e == null) {
      sm.state = ModelState.MODEL_STATE_LOADED;
      sm.lastFailure = null;
      sm.consecutiveFailures = 0;
      sm.everLoaded = true;
      telemetry.modelLoaded(sm.name, took, true);
      LOG.info(() -> "loaded model " + sm.name + " in " + Math.round(took.toMillis()) + " ms (" + Sizes.bytes(m.weightBytes) + " with KV budget)");
    } else {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      sm.state = ModelState.MODEL_STATE_FAILED;
      sm.lastFailure = cause;
      sm.consecutiveFailures++;
      sm.lastFailureNanos = ticker.read();
      telemetry.modelLoaded(sm.name, took, false);
      LOG.log(Level.WARNING, "loading model " + sm.name + " failed: " + cause.getMessage());
    }
    // Weighing happens when Caffeine sees the completed future; fix the maximum once it has.
    cacheTasks.execute(() -> {
      updateMaximum();
      stateChanged();
    });
  }

  private void removed(String name, LoadedModel m, RemovalCause cause) {
    if (m == null) {
      return;
    }
    if (cause == RemovalCause.REPLACED) {
      if (loadedNow(name) != m) {
        m.retire(); // swapped out: closes once its last stream ends
      }
      return;
    }
    m.retire();
    String why = m.evictionCause != null ? m.evictionCause
        : cause == RemovalCause.SIZE ? "size" : cause == RemovalCause.EXPIRED ? "expired" : null;
    if (why != null) {
      telemetry.cacheEviction(name, why);
      LOG.info(() -> "model " + name + " left memory (" + why + ")");
    }
    if (m.served.state == ModelState.MODEL_STATE_LOADED && cache.getIfPresent(name) == null) {
      m.served.state = ModelState.MODEL_STATE_NOT_LOADED;
    }
    updateMaximum();
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

  /** Budget minus what pinned models weigh: the room Caffeine manages for unpinned ones. */
  private void updateMaximum() {
    long max = Math.max(0, kib(budgetBytes) - kib(pinnedBytesExcept(null)));
    cache.synchronous().policy().eviction().ifPresent(e -> e.setMaximum(max));
  }

  /**
   * Pins or unpins a model. A loaded model is re-weighed at once.
   *
   * @throws ModelTooLargeException when pinning it would leave pinned models above the budget
   */
  synchronized void pin(ServedModel sm, boolean pinned) {
    LoadedModel m = loadedNow(sm.name);
    if (pinned && m != null) {
      long others = pinnedBytesExcept(sm);
      if (others + m.weightBytes > budgetBytes) {
        throw new ModelTooLargeException("pinning '" + sm.name + "' (" + Sizes.bytes(m.weightBytes) + ") would pin "
            + Sizes.bytes(others + m.weightBytes) + ", above cache.memory_budget " + Sizes.bytes(budgetBytes) + "; unpin another model first");
      }
    }
    sm.pinned = pinned;
    if (m != null) {
      cache.put(sm.name, CompletableFuture.completedFuture(m));
    }
    updateMaximum();
  }

  /** Drops the model from memory (streams using it finish first); false when it was not loaded. */
  boolean unload(ServedModel sm) {
    LoadedModel m = loadedNow(sm.name);
    if (m == null) {
      return false;
    }
    boolean removed = cache.synchronous().asMap().remove(sm.name, m);
    if (removed && loadedNow(sm.name) == null && sm.state == ModelState.MODEL_STATE_LOADED) {
      sm.state = ModelState.MODEL_STATE_NOT_LOADED; // now, not when the removal listener gets to it: Unload answers with this state
    }
    return removed;
  }

  /** Whether every configured model with preload has been loaded at least once. */
  boolean preloadsReady() {
    for (ServedModel sm : all()) {
      if (sm.configured && sm.preload && !sm.everLoaded) {
        return false;
      }
    }
    return true;
  }

  /** Starts loading every configured model with preload; retryable failures (hub unreachable) retry with backoff. */
  void preloadAll() {
    for (ServedModel sm : all()) {
      if (sm.configured && sm.preload) {
        preload(sm, Duration.ofSeconds(1));
      }
    }
  }

  private void preload(ServedModel sm, Duration backoff) {
    load(sm).whenComplete((m, e) -> {
      Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
      if (cause instanceof HubException h && h.isRetryable() && !closed) {
        LOG.info(() -> "will retry loading " + sm.name + " in " + backoff.toSeconds() + " s");
        Duration next = backoff.multipliedBy(2).compareTo(Duration.ofMinutes(1)) > 0 ? Duration.ofMinutes(1) : backoff.multipliedBy(2);
        try {
          cacheExecutor.schedule(() -> preload(sm, next), backoff.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException shuttingDown) {
          // closed meanwhile: no retry
        }
      }
    });
  }

  /** The model if it is in memory now (a completed load), else null. */
  LoadedModel loadedNow(String name) {
    CompletableFuture<LoadedModel> f = cache.getIfPresent(name);
    return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
  }

  /** Loaded models without touching their access time. */
  private List<LoadedModel> loadedAll() {
    List<LoadedModel> out = new ArrayList<>();
    for (CompletableFuture<LoadedModel> f : cache.asMap().values()) {
      if (f.isDone() && !f.isCompletedExceptionally()) {
        out.add(f.join());
      }
    }
    return out;
  }

  /** Bytes the loaded models weigh, and how many there are (for gauges). */
  long[] weightAndCount() {
    long w = 0;
    long n = 0;
    for (LoadedModel m : loadedAll()) {
      w += m.weightBytes;
      n++;
    }
    return new long[] {w, n};
  }

  /** Runs pending cache maintenance now (tests with a fake ticker). */
  void cleanUp() {
    cache.synchronous().cleanUp();
  }

  /** Drops every model (each closes once its streams finish) and stops the loader threads. */
  @Override
  public void close() {
    closed = true;
    releases.close();
    hubExecutor.shutdownNow();
    loadExecutor.shutdownNow();
    // A load inside ONNX Runtime cannot be interrupted, and a JVM that exits under it crashes in native
    // code: wait for it, then close what it loaded with the rest.
    awaitTermination(loadExecutor, LOAD_GRACE, "a model load to finish");
    cache.synchronous().invalidateAll();
    cache.synchronous().cleanUp();
    hub.close();
    cacheExecutor.shutdown();
    awaitTermination(cacheExecutor, Duration.ofSeconds(10), "models to close");
  }

  private static void awaitTermination(ExecutorService executor, Duration grace, String what) {
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
