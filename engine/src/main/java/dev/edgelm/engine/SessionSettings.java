package dev.edgelm.engine;

import java.util.Locale;
import java.util.Set;

/**
 * How an ONNX Runtime session runs a {@link DecoderModel}.
 *
 * <p>The defaults suit batch-1 decoding on a small edge host shared with other work: one intra-op
 * and one inter-op thread, sequential execution, every graph optimisation, no spin-waiting (idle
 * ORT threads do not burn a core between steps), on the CPU execution provider. Concurrency comes
 * from running several sequences on one session, not from threads inside one step.
 *
 * @param intraOpThreads threads ORT uses inside one operator; 0 lets ORT choose (all cores)
 * @param interOpThreads threads ORT uses across operators (only with {@code parallelExecution})
 * @param parallelExecution run independent graph nodes in parallel instead of sequentially
 * @param optimization graph optimisation level applied when the session is created
 * @param allowSpinning let ORT's worker threads spin-wait for work (lower latency, busy CPU)
 * @param executionProvider {@code "cpu"} or {@code "cuda"}
 */
public record SessionSettings(
    int intraOpThreads,
    int interOpThreads,
    boolean parallelExecution,
    GraphOptimization optimization,
    boolean allowSpinning,
    String executionProvider) {

  public static final int DEFAULT_INTRA_OP_THREADS = 1;
  public static final int DEFAULT_INTER_OP_THREADS = 1;
  public static final GraphOptimization DEFAULT_OPTIMIZATION = GraphOptimization.ALL;
  public static final String DEFAULT_EXECUTION_PROVIDER = "cpu";
  /** Execution providers the engine knows how to register. */
  public static final Set<String> EXECUTION_PROVIDERS = Set.of("cpu", "cuda");

  public static final SessionSettings DEFAULTS = new SessionSettings(
      DEFAULT_INTRA_OP_THREADS, DEFAULT_INTER_OP_THREADS, false, DEFAULT_OPTIMIZATION, false, DEFAULT_EXECUTION_PROVIDER);

  /** ONNX Runtime's graph optimisation levels. */
  public enum GraphOptimization {
    NONE,
    BASIC,
    EXTENDED,
    ALL
  }

  /** @throws IllegalArgumentException naming the setting that is out of range */
  public SessionSettings {
    if (intraOpThreads < 0) {
      throw new IllegalArgumentException("intraOpThreads must be >= 0 (0 = ORT's choice), got " + intraOpThreads);
    }
    if (interOpThreads < 0) {
      throw new IllegalArgumentException("interOpThreads must be >= 0 (0 = ORT's choice), got " + interOpThreads);
    }
    if (optimization == null) {
      throw new IllegalArgumentException("optimization must be set");
    }
    executionProvider = executionProvider == null ? "" : executionProvider.toLowerCase(Locale.ROOT);
    if (!EXECUTION_PROVIDERS.contains(executionProvider)) {
      throw new IllegalArgumentException("executionProvider must be one of " + EXECUTION_PROVIDERS + ", got \"" + executionProvider + "\"");
    }
  }

  public SessionSettings withIntraOpThreads(int threads) {
    return new SessionSettings(threads, interOpThreads, parallelExecution, optimization, allowSpinning, executionProvider);
  }

  public SessionSettings withInterOpThreads(int threads) {
    return new SessionSettings(intraOpThreads, threads, parallelExecution, optimization, allowSpinning, executionProvider);
  }

  public SessionSettings withParallelExecution(boolean parallel) {
    return new SessionSettings(intraOpThreads, interOpThreads, parallel, optimization, allowSpinning, executionProvider);
  }

  public SessionSettings withOptimization(GraphOptimization level) {
    return new SessionSettings(intraOpThreads, interOpThreads, parallelExecution, level, allowSpinning, executionProvider);
  }

  public SessionSettings withAllowSpinning(boolean spinning) {
    return new SessionSettings(intraOpThreads, interOpThreads, parallelExecution, optimization, spinning, executionProvider);
  }

  public SessionSettings withExecutionProvider(String provider) {
    return new SessionSettings(intraOpThreads, interOpThreads, parallelExecution, optimization, allowSpinning, provider);
  }
}
