package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.ModelLoader;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.ServableModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.Ticker;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;

/**
 * Model loads: the one pipeline that turns a package directory into a {@link LoadedModel}, for a
 * first load and a blue/green swap alike, and the loader thread it runs on.
 *
 * <h2>Design</h2>
 *
 * <p>{@link #open}: open the package ({@link ModelPackage#open}: digests checked), size its
 * {@link Footprint} at the context it will serve, check it fits beside the pinned models and make room
 * ({@link ModelCache}), create the ONNX Runtime session through the {@link ModelLoader} seam, warm it
 * up when asked (a swap serves it at once, so no client pays for ORT's lazy initialisation), and weigh
 * it again with the loaded model's own figures. It writes no state of the model entry: the registry
 * records what a load or swap changed, in one step.
 *
 * <p>Threading: {@link #open} runs on the one loader thread ({@link #submit}), so room-making
 * decisions never race. Session creation cannot be interrupted: {@link #close} waits for a load in
 * progress (a JVM that exits under it crashes in native code).
 */
final class ModelLoads {
  /** How long a stop waits for a model load in progress (session creation cannot be interrupted). */
  static final Duration LOAD_GRACE = Duration.ofSeconds(60);

  private final ModelLoader loader;
  private final SessionSettings sessionSettings;
  private final ModelCache cache;
  private final int maxContext;
  private final Ticker ticker;
  private final Executor closer;
  private final ExecutorService thread = Executors.newSingleThreadExecutor(RegistryThreads.threads("edgelm-load"));
  private volatile boolean closed;

  /**
   * @param maxContext {@code generation.max_context} (0 = each model's own)
   * @param closer where retired models close (the cache thread)
   */
  ModelLoads(ModelLoader loader, SessionSettings sessionSettings, ModelCache cache, int maxContext, Ticker ticker, Executor closer) {
    this.loader = loader;
    this.sessionSettings = sessionSettings;
    this.cache = cache;
    this.maxContext = maxContext;
    this.ticker = ticker;
    this.closer = closer;
  }

  /** Runs {@code work} on the loader thread. */
  <T> CompletableFuture<T> submit(Supplier<T> work) {
    return CompletableFuture.supplyAsync(work, thread);
  }

  /** Executes {@code work} on the loader thread. */
  Executor executor() {
    return thread;
  }

  /** The context a model of {@code modelContext} tokens serves here. */
  int effectiveContext(int modelContext) {
    return Footprint.effectiveContext(maxContext, modelContext);
  }

  /** Opens (and verifies) the package in {@code dir}. @throws NotReadyException when the daemon is stopping */
  ModelPackage read(Path dir) {
    checkOpen();
    return ModelPackage.open(dir);
  }

  /**
   * The one load pipeline (see the class comment). Loader thread.
   *
   * @param executionProvider where the selected variant runs ("cpu", "cuda"), or null for the configured settings
   * @param warm run one short generation before returning
   * @throws dev.edgelm.daemon.ModelTooLargeException when it cannot fit beside the pinned models
   * @throws NotReadyException when the daemon stopped meanwhile (what was loaded is retired)
   */
  LoadedModel open(ServedModel sm, ModelPackage pkg, String executionProvider, boolean warm) {
    VariantDescriptor d = pkg.descriptor();
    int concurrency = sm.admission.maxConcurrent();
    Footprint estimate = Footprint.of(pkg.weightBytes(), d.getKvCacheBytesPerToken(), effectiveContext(d.getArchitecture().getContextLength()),
        concurrency);
    cache.ensureFits(sm, estimate);
    cache.makeRoom(sm, estimate);
    ServableModel model = loader.load(pkg, settingsFor(executionProvider));
    if (warm) {
      try {
        warm(model);
      } catch (RuntimeException e) {
        model.close();
        throw e;
      }
    }
    int ctx = effectiveContext(model.languageModel().contextLength());
    LoadedModel m = new LoadedModel(sm, model, Footprint.of(model.residentBytes(), model.kvCacheBytesPerToken(), ctx, concurrency), closer,
        ticker.read());
    if (closed) {
      m.retire();
      throw new NotReadyException("the daemon is shutting down");
    }
    return m;
  }

  private SessionSettings settingsFor(String executionProvider) {
    return executionProvider != null && SessionSettings.EXECUTION_PROVIDERS.contains(executionProvider)
        ? sessionSettings.withExecutionProvider(executionProvider) : sessionSettings;
  }

  /** Runs one short generation so the first client stream does not pay for ONNX Runtime's lazy initialisation. */
  static void warm(ServableModel model) {
    // Token ids, not text: any tokenizer has a BOS or a token 0, not every one can spell a word.
    int first = model.languageModel().tokenizer().bosId().orElse(0);
    Generation.stream(model.languageModel(), GenerationRequest.ofIds(first).withMaxTokens(2), t -> { });
  }

  private void checkOpen() {
    if (closed) {
      throw new NotReadyException("the daemon is shutting down");
    }
  }

  /** Refuses new loads, interrupts queued ones and waits up to {@link #LOAD_GRACE} for the one inside ONNX Runtime. */
  void close() {
    closed = true;
    thread.shutdownNow();
    RegistryThreads.awaitTermination(thread, LOAD_GRACE, "a model load to finish");
  }
}
