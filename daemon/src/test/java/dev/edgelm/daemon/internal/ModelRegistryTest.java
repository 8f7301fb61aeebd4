package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.UnknownModelException;
import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.proto.v1.ModelState;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The model cache: weights + KV budget against the memory budget, least-recently-used eviction of
 * idle models, pinning, keep-alive on an injected ticker, and closing only after the last stream.
 * Fake models: 100,000 bytes of weights and 1,280 KV bytes per token over a 64-token context, so
 * each weighs 181,920 bytes with one slot; a 400 KiB budget holds two.
 */
class ModelRegistryTest {
  private static final int WEIGHTS = 100_000;
  private static final long WEIGHT = WEIGHTS + 1280L * 64;

  @TempDir Path tmp;

  private final AtomicLong now = new AtomicLong(1);
  private final FakeModelLoader loader = new FakeModelLoader();
  private ModelRegistry registry;
  private Telemetry telemetry;

  @AfterEach
  void close() {
    if (registry != null) {
      registry.close();
    }
    if (telemetry != null) {
      telemetry.close();
    }
  }

  private ModelRegistry registry(Map<String, String> extra, String... models) {
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("cache.memory_budget", "400KiB");
    flags.put("generation.max_concurrent", "1");
    flags.put("generation.max_context", "64"); // the packages' descriptors say 512
    for (String m : models) {
      loader.serve(m, () -> FakeModelLoader.saying(5, 64));
      flags.put("models." + m + ".path", FakeModelLoader.writePackage(tmp.resolve(m), m, WEIGHTS).toString());
      flags.put("models." + m + ".preload", "false");
    }
    flags.putAll(extra);
    DaemonConfig config = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(flags));
    telemetry = Telemetry.create(config.telemetry(), Optional.empty(), new ZeroGauges());
    registry = new ModelRegistry(config, loader, now::get, telemetry);
    return registry;
  }

  private LoadedModel load(String name) {
    return registry.load(registry.served(name)).join();
  }

  private void use(String name) {
    now.addAndGet(1_000_000);
    registry.acquire(registry.served(name)).close();
  }

  @Test
  void close_waitsForALoadThatIgnoresInterrupts_thenClosesWhatItLoaded() throws InterruptedException {
    loader.closeGateDeafToInterrupts(); // like session creation in ONNX Runtime, which a JVM exit would crash
    registry(Map.of(), "a");
    registry.load(registry.served("a"));
    Awaits.until("the load started", () -> loader.loadsStarted() == 1);
    Thread closer = new Thread(registry::close, "closer");
    closer.start();
    Awaits.until("close waits for the load", () -> closer.getState() == Thread.State.TIMED_WAITING && loader.closes() == 0);
    assertTrue(closer.isAlive(), "close returned while a load was still running");
    loader.openGate();
    closer.join(Awaits.PATIENCE.toMillis());
    assertTrue(!closer.isAlive(), "close did not return after the load finished");
    assertEquals(1, loader.loads());
    assertEquals(1, loader.closes(), "the model loaded during close is closed too");
    registry = null;
  }

  @Test
  void load_weighsWeightsPlusKvBudget() {
    registry(Map.of("generation.max_concurrent", "2"), "a");
    LoadedModel m = load("a");
    assertEquals(WEIGHTS + 1280L * 64 * 2, m.budgetedBytes);
    assertEquals(1280L * 64 * 2, m.kvBudgetBytes);
    assertEquals(64, m.contextLength);
    assertEquals(ModelState.MODEL_STATE_LOADED, registry.served("a").state().status());
    assertEquals(m.budgetedBytes, registry.weightAndCount()[0]);
  }

  @Test
  void load_pastBudget_evictsLeastRecentlyUsedIdleModel() {
    registry(Map.of(), "a", "b", "c");
    load("a");
    load("b");
    use("a"); // b is now the least recently used
    load("c");
    Awaits.until("b is closed", () -> loader.closes() == 1);
    assertNull(registry.loadedNow("b"));
    assertNotNull(registry.loadedNow("a"));
    assertNotNull(registry.loadedNow("c"));
    Awaits.until("b is marked not loaded", () -> registry.served("b").state().status() == ModelState.MODEL_STATE_NOT_LOADED);
    assertTrue(registry.weightAndCount()[0] <= 400 * 1024);
  }

  @Test
  void evict_whileStreaming_closesOnlyAfterTheLastLease() {
    registry(Map.of(), "a", "b", "c");
    load("a");
    load("b");
    LoadedModel.Lease streamingA = registry.acquire(registry.served("a"));
    now.addAndGet(1_000_000);
    use("b"); // a has the older access, but it is in use: idle b goes first
    load("c");
    Awaits.until("b is closed", () -> loader.closes() == 1);
    assertNotNull(registry.loadedNow("a"), "the idle model was evicted, not the busy one");
    now.addAndGet(1_000_000);
    LoadedModel.Lease streamingC = registry.acquire(registry.served("c"));
    load("b"); // both loaded models stream now: the least recently used, a, has to go
    Awaits.until("a leaves the cache", () -> registry.loadedNow("a") == null);
    assertNotNull(registry.loadedNow("c"));
    assertEquals(1, loader.closes(), "a stays open while its stream runs");
    streamingA.close();
    Awaits.until("a is closed after its last stream", () -> loader.closes() == 2);
    streamingC.close();
    assertEquals(2, loader.closes());
  }

  @Test
  void pinned_isNeverEvicted_andCountsAgainstTheBudget() {
    registry(Map.of("models.a.pin", "true"), "a", "b", "c");
    load("a");
    load("b");
    use("b");
    load("c"); // only b may go
    Awaits.until("b is closed", () -> loader.closes() == 1);
    assertNotNull(registry.loadedNow("a"));
    assertNotNull(registry.loadedNow("c"));
    assertNull(registry.loadedNow("b"));
  }

  @Test
  void load_thatCannotFitBesidePinnedModels_givesModelTooLarge() {
    registry(Map.of("cache.memory_budget", "300KiB", "models.a.pin", "true"), "a", "b");
    load("a");
    CompletionException e = assertThrows(CompletionException.class, () -> load("b"));
    assertTrue(e.getCause() instanceof ModelTooLargeException, String.valueOf(e.getCause()));
    assertTrue(e.getCause().getMessage().contains("pinned"), e.getCause().getMessage());
    assertEquals(ModelState.MODEL_STATE_FAILED, registry.served("b").state().status());
    assertThrows(ModelTooLargeException.class, () -> registry.acquire(registry.served("b")), "a permanent failure is reported as such");
  }

  @Test
  void keepAlive_expiresIdleUnpinnedModels() {
    registry(Map.of("cache.keep_alive", "10m", "models.b.pin", "true"), "a", "b");
    load("a");
    load("b");
    now.addAndGet(Duration.ofMinutes(11).toNanos());
    registry.cleanUp();
    Awaits.until("a expires", () -> loader.closes() == 1);
    assertNull(registry.loadedNow("a"));
    assertNotNull(registry.loadedNow("b"), "pinned models never expire");
  }

  @Test
  void acquire_notLoaded_startsTheLoadAndGivesUnavailable() {
    registry(Map.of(), "a");
    ServedModel a = registry.served("a");
    assertThrows(NotReadyException.class, () -> registry.acquire(a));
    Awaits.until("a is loaded", () -> registry.loadedNow("a") != null);
    registry.acquire(a).close();
    assertThrows(UnknownModelException.class, () -> registry.served("zz"));
  }

  @Test
  void unloadAndPin_takeEffectAtOnce() {
    registry(Map.of(), "a", "b", "c");
    load("a");
    assertTrue(registry.unload(registry.served("a")));
    Awaits.until("a is closed", () -> loader.closes() == 1);
    load("a");
    load("b");
    registry.pin(registry.served("a"), true);
    registry.pin(registry.served("b"), true);
    CompletionException e = assertThrows(CompletionException.class, () -> load("c"));
    assertTrue(e.getCause() instanceof ModelTooLargeException, String.valueOf(e.getCause()));
    registry.pin(registry.served("b"), false);
    load("c");
    Awaits.until("b is closed", () -> loader.closes() == 2);
    assertNotNull(registry.loadedNow("a"));
  }

  @Test
  void preload_retryableFailure_retriesOnTheInjectedScheduler_withDoublingBackoff() {
    java.util.concurrent.atomic.AtomicInteger attempts = new java.util.concurrent.atomic.AtomicInteger();
    dev.edgelm.daemon.testing.ManualScheduler scheduler = new dev.edgelm.daemon.testing.ManualScheduler();
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("models.a.path", FakeModelLoader.writePackage(tmp.resolve("a"), "a", WEIGHTS).toString());
    loader.serve("a", () -> {
      if (attempts.incrementAndGet() <= 2) {
        throw new dev.edgelm.hub.UnavailableException("hub down (attempt " + attempts.get() + ")");
      }
      return FakeModelLoader.saying(5, 64);
    });
    DaemonConfig config = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(flags));
    telemetry = Telemetry.create(config.telemetry(), Optional.empty(), new ZeroGauges());
    registry = new ModelRegistry(config, dev.edgelm.daemon.DaemonRuntime.DEFAULTS.withLoader(loader).withTicker(now::get)
        .withScheduler(scheduler), telemetry);
    registry.preloadAll();
    Awaits.until("the retry waits on the scheduler", () -> scheduler.pending() == 1);
    assertEquals(1, attempts.get(), "no retry before the scheduler's clock moves");
    scheduler.advance(Duration.ofSeconds(1));
    Awaits.until("the second attempt fails and the next waits", () -> attempts.get() == 2 && scheduler.pending() == 1);
    scheduler.advance(Duration.ofSeconds(1));
    assertEquals(2, attempts.get(), "the backoff doubles: 1 s after the second failure is too soon");
    scheduler.advance(Duration.ofSeconds(1));
    Awaits.until("the third attempt loads", registry::preloadsReady);
    assertNotNull(registry.loadedNow("a"));
    assertEquals(0, scheduler.pending(), "a loaded model schedules no retry");
  }

  @Test
  void close_cancelsAPreloadRetryThatIsDue() {
    dev.edgelm.daemon.testing.ManualScheduler scheduler = new dev.edgelm.daemon.testing.ManualScheduler();
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("models.a.path", FakeModelLoader.writePackage(tmp.resolve("a"), "a", WEIGHTS).toString());
    loader.serve("a", () -> {
      throw new dev.edgelm.hub.UnavailableException("hub down");
    });
    DaemonConfig config = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(flags));
    telemetry = Telemetry.create(config.telemetry(), Optional.empty(), new ZeroGauges());
    registry = new ModelRegistry(config, dev.edgelm.daemon.DaemonRuntime.DEFAULTS.withLoader(loader).withTicker(now::get)
        .withScheduler(scheduler), telemetry);
    registry.preloadAll();
    Awaits.until("the retry waits on the scheduler", () -> scheduler.pending() == 1);
    registry.close();
    registry = null;
    assertEquals(0, scheduler.pending(), "a stopped registry leaves no retry scheduled");
  }

  @Test
  void describe_whileSwapping_everyAnswerShowsOneVariant() throws InterruptedException {
    loader.serve("a", () -> FakeModelLoader.saying(5, 64));
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("cache.memory_budget", "4MiB");
    flags.put("generation.max_concurrent", "1");
    flags.put("generation.max_context", "64");
    flags.put("hub.store", tmp.resolve("store").toString());
    flags.put("hub.poll_interval", "0s");
    flags.put("models.a.ref", "oci:" + tmp.resolve("layout") + ":stable"); // never resolved: the test hands over pulled variants
    flags.put("models.a.preload", "false");
    DaemonConfig config = DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(flags));
    telemetry = Telemetry.create(config.telemetry(), Optional.empty(), new ZeroGauges());
    registry = new ModelRegistry(config, loader, now::get, telemetry);
    ServedModel a = registry.served("a");
    dev.edgelm.hub.InstalledVariant[] variants = {pulledVariant("v1", WEIGHTS), pulledVariant("v2", WEIGHTS + 8192)};
    dev.edgelm.daemon.Selection[] selections = {chose(variants[0]), chose(variants[1])};
    registry.swap(a, variants[0], selections[0]); // not in memory: recorded for the next load
    registry.load(a).join();

    java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
    java.util.concurrent.atomic.AtomicReference<String> torn = new java.util.concurrent.atomic.AtomicReference<>();
    java.util.Set<String> seen = java.util.concurrent.ConcurrentHashMap.newKeySet();
    java.util.concurrent.atomic.AtomicInteger answers = new java.util.concurrent.atomic.AtomicInteger();
    java.util.List<Thread> describers = new java.util.ArrayList<>();
    for (int t = 0; t < 3; t++) {
      Thread th = new Thread(() -> {
        while (!stop.get() && torn.get() == null) {
          dev.edgelm.proto.v1.ModelInfo info = ModelInfos.of(a);
          dev.edgelm.proto.v1.HubSource hub = info.getSource().getHub();
          String variant = hub.getVariant();
          boolean consistent = variant.equals(info.getVariantDescriptor().getId())
              && variant.equals(info.getSelection().getChosen())
              && hub.getManifestDigest().equals(info.getSelection().getChosenManifestDigest())
              && info.getResidentBytes() == info.getVariantDescriptor().getWeightBytes();
          if (!consistent) {
            torn.compareAndSet(null, info.toString());
          }
          seen.add(variant);
          answers.incrementAndGet();
        }
      }, "describer-" + t);
      describers.add(th);
      th.start();
    }
    for (int i = 1; i <= 100 && torn.get() == null; i++) {
      registry.swap(a, variants[i % 2], selections[i % 2]);
    }
    stop.set(true);
    for (Thread th : describers) {
      th.join(Awaits.PATIENCE.toMillis());
    }
    assertNull(torn.get(), "one answer mixed two variants: " + torn.get());
    assertEquals(java.util.Set.of("v1", "v2"), seen, "the describers saw both variants (" + answers.get() + " answers)");
  }

  /** Variant {@code id} of model "a", as a pull would leave it in the store. */
  private dev.edgelm.hub.InstalledVariant pulledVariant(String id, int weights) {
    Path dir = dev.edgelm.hub.testing.TestPackages.write(tmp.resolve("pkg-" + id), "a", id, "fp32", weights, id.hashCode());
    dev.edgelm.proto.v1.VariantDescriptor d = dev.edgelm.engine.ModelPackage.describe(dir);
    return new dev.edgelm.hub.InstalledVariant(dev.edgelm.hub.Reference.parse("oci:" + tmp.resolve("layout") + ":stable"),
        dev.edgelm.hub.Digest.of(("index-" + id).getBytes(java.nio.charset.StandardCharsets.UTF_8)), id,
        dev.edgelm.hub.Digest.of(("manifest-" + id).getBytes(java.nio.charset.StandardCharsets.UTF_8)), dir, d, 0, 0);
  }

  /** A selection that chose {@code v}. */
  private static dev.edgelm.daemon.Selection chose(dev.edgelm.hub.InstalledVariant v) {
    dev.edgelm.daemon.Selection.Verdict chosen = new dev.edgelm.daemon.Selection.Verdict(v.variantId(), v.manifestDigest(), "fp32",
        dev.edgelm.daemon.Selection.Outcome.CHOSEN, 1, "test", java.util.List.of(), 0, "", 0, "cpu", java.util.OptionalDouble.empty(), 0);
    return new dev.edgelm.daemon.Selection(v.reference(), v.indexDigest(), java.util.List.of(chosen), false, "test",
        dev.edgelm.daemon.testing.Hosts.x86(dev.edgelm.daemon.testing.Hosts.AVX2).build(), dev.edgelm.daemon.SelectionPolicy.DEFAULTS, 1L << 30,
        java.time.Instant.EPOCH);
  }

  @Test
  void cache_quietensOnlyCaffeinesAsyncLoadLogger() {
    registry(Map.of(), "a");
    assertNull(java.util.logging.Logger.getLogger("com.github.benmanes.caffeine.cache").getLevel(),
        "the rest of Caffeine's logging is left as the user configured it");
    assertEquals(java.util.logging.Level.SEVERE, java.util.logging.Logger.getLogger("com.github.benmanes.caffeine.cache.LocalAsyncCache").getLevel(),
        "failed loads are logged by the registry, with the model's name");
  }

  private static final class ZeroGauges implements Telemetry.Gauges {
    @Override
    public Map<String, long[]> streamsByModel() {
      return Map.of();
    }

    @Override
    public long bufferedMessages() {
      return 0;
    }

    @Override
    public long bufferedMessagesHighWater() {
      return 0;
    }

    @Override
    public long streamsInProgress() {
      return 0;
    }

    @Override
    public long pausedStreams() {
      return 0;
    }

    @Override
    public long cancellingStreams() {
      return 0;
    }

    @Override
    public long[] cacheWeightAndCount() {
      return new long[2];
    }
  }
}
