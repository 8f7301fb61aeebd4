package dev.edgelm.daemon;

/**
 * What a variant must satisfy besides running on the host, and how candidates are ranked.
 *
 * @param contextTokens tokens of context each stream may use; 0 = each variant's own context length
 *     ({@code generation.max_context})
 * @param concurrency streams at once ({@code models.<name>.max_concurrent}): the KV cache is sized
 *     for all of them
 * @param memoryBudgetBytes the daemon's memory budget for models ({@code cache.memory_budget}); a
 *     variant must fit the smaller of this and the host's usable memory
 * @param memoryOverheadBytes fixed overhead added to every variant's need ({@code select.memory_overhead};
 *     10 % of the weights is added on top, see {@link #RUNTIME_OVERHEAD_RATIO})
 * @param maxPerplexityRatio the quality floor: variants whose measured perplexity ratio against the
 *     base exceeds it are rejected; 0 = no floor ({@code select.max_perplexity_ratio})
 * @param pinnedVariant the operator's choice ({@code models.<name>.variant}), or null to select
 * @param speedTolerance candidates predicted within this fraction of the fastest count as equally
 *     fast, and the better quality wins among them ({@code select.speed_tolerance})
 * @param benchmarkTop decode a few tokens with this many top candidates on this host before choosing
 *     (downloads their weights; 0 = off; {@code select.benchmark_top})
 * @param benchmarkTokens tokens each on-device benchmark decodes
 * @param intraOpThreads threads per ONNX Runtime step ({@code runtime.intra_op_threads}): which
 *     published speed measurements apply
 */
public record SelectionPolicy(
    int contextTokens,
    int concurrency,
    long memoryBudgetBytes,
    long memoryOverheadBytes,
    double maxPerplexityRatio,
    String pinnedVariant,
    double speedTolerance,
    int benchmarkTop,
    int benchmarkTokens,
    int intraOpThreads) {

  public static final double DEFAULT_MAX_PERPLEXITY_RATIO = 1.15;
  public static final String DEFAULT_MEMORY_OVERHEAD = "64MiB";
  public static final double DEFAULT_SPEED_TOLERANCE = 0.10;
  public static final int DEFAULT_BENCHMARK_TOP = 0;
  public static final int DEFAULT_BENCHMARK_TOKENS = 16;
  /** Share of the weights added to a variant's memory need for ONNX Runtime's own buffers (prepacked weights, arena). */
  public static final double RUNTIME_OVERHEAD_RATIO = 0.10;
  /** Context assumed for a variant whose index entry does not state one, when the policy sets none. */
  public static final int ASSUMED_CONTEXT = 2048;

  public static final SelectionPolicy DEFAULTS = new SelectionPolicy(0, 4, Long.MAX_VALUE, 64L << 20, DEFAULT_MAX_PERPLEXITY_RATIO,
      null, DEFAULT_SPEED_TOLERANCE, DEFAULT_BENCHMARK_TOP, DEFAULT_BENCHMARK_TOKENS, 1);

  public SelectionPolicy {
    if (contextTokens < 0 || concurrency < 1 || memoryBudgetBytes <= 0 || memoryOverheadBytes < 0 || maxPerplexityRatio < 0
        || speedTolerance < 0 || speedTolerance >= 1 || benchmarkTop < 0 || benchmarkTokens < 1 || intraOpThreads < 0) {
      throw new IllegalArgumentException("selection policy out of range: " + contextTokens + " ctx, " + concurrency + " streams, budget "
          + memoryBudgetBytes + ", overhead " + memoryOverheadBytes + ", max ratio " + maxPerplexityRatio + ", tolerance " + speedTolerance
          + ", benchmark " + benchmarkTop + "x" + benchmarkTokens);
    }
    pinnedVariant = pinnedVariant == null || pinnedVariant.isBlank() ? null : pinnedVariant.strip();
  }

  public SelectionPolicy withContextTokens(int v) {
    return new SelectionPolicy(v, concurrency, memoryBudgetBytes, memoryOverheadBytes, maxPerplexityRatio, pinnedVariant, speedTolerance,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withConcurrency(int v) {
    return new SelectionPolicy(contextTokens, v, memoryBudgetBytes, memoryOverheadBytes, maxPerplexityRatio, pinnedVariant, speedTolerance,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withMemoryBudgetBytes(long v) {
    return new SelectionPolicy(contextTokens, concurrency, v, memoryOverheadBytes, maxPerplexityRatio, pinnedVariant, speedTolerance,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withMemoryOverheadBytes(long v) {
    return new SelectionPolicy(contextTokens, concurrency, memoryBudgetBytes, v, maxPerplexityRatio, pinnedVariant, speedTolerance,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withMaxPerplexityRatio(double v) {
    return new SelectionPolicy(contextTokens, concurrency, memoryBudgetBytes, memoryOverheadBytes, v, pinnedVariant, speedTolerance,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withPinnedVariant(String v) {
    return new SelectionPolicy(contextTokens, concurrency, memoryBudgetBytes, memoryOverheadBytes, maxPerplexityRatio, v, speedTolerance,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withSpeedTolerance(double v) {
    return new SelectionPolicy(contextTokens, concurrency, memoryBudgetBytes, memoryOverheadBytes, maxPerplexityRatio, pinnedVariant, v,
        benchmarkTop, benchmarkTokens, intraOpThreads);
  }

  public SelectionPolicy withBenchmark(int top, int tokens) {
    return new SelectionPolicy(contextTokens, concurrency, memoryBudgetBytes, memoryOverheadBytes, maxPerplexityRatio, pinnedVariant,
        speedTolerance, top, tokens, intraOpThreads);
  }

  public SelectionPolicy withIntraOpThreads(int v) {
    return new SelectionPolicy(contextTokens, concurrency, memoryBudgetBytes, memoryOverheadBytes, maxPerplexityRatio, pinnedVariant,
        speedTolerance, benchmarkTop, benchmarkTokens, v);
  }
}
