package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.SelectionPolicy;

/**
 * What a model needs in memory while served: the one formula the model cache ({@link ModelCache},
 * {@link ModelLoads}) and the variant selector ({@code internal.select.DefaultVariantSelector}) share.
 *
 * <h2>What counts against {@code cache.memory_budget}</h2>
 *
 * <p>{@link #budgetedBytes()}: the weights plus the KV budget ({@link #kvBytes()}: bytes per token
 * x context x streams x rows per stream). That is what the model cache weighs each loaded model at,
 * what it checks before a load, and what it evicts room for. The runtime overhead (ONNX Runtime's
 * prepacked weights and arena, the JVM's share) is not charged to the cache: it cannot be measured
 * per model once loaded, and charging an estimate would evict real models for a guess. Instead the
 * selector demands it as headroom: a variant is chosen only if {@link #requiredBytes()} (budgeted +
 * overhead) fits under the smaller of the budget and the host's usable memory, so what it picks
 * leaves room for the runtime beside it.
 *
 * <h2>Effective context</h2>
 *
 * <p>{@link #effectiveContext}: the model's context capped by {@code generation.max_context}; a
 * model that states none gets the cap, or {@link #ASSUMED_CONTEXT} without one.
 *
 * @param weightBytes the weights (resident bytes once loaded; the descriptor's or index's figure before)
 * @param kvBytesPerToken bytes one token of context adds to one sequence's KV cache
 * @param contextTokens the effective context ({@link #effectiveContext})
 * @param concurrency streams served at once ({@code max_concurrent})
 * @param rowsPerStream KV rows budgeted per stream: 1 today; batched decoding sizes its KV pool in rows
 * @param overheadBytes runtime overhead beyond the weights and KV (selection headroom; see above)
 */
public record Footprint(long weightBytes, long kvBytesPerToken, int contextTokens, int concurrency, int rowsPerStream, long overheadBytes) {
  /** Share of the weights added to the overhead for ONNX Runtime's own buffers (prepacked weights, arena). */
  public static final double RUNTIME_OVERHEAD_RATIO = SelectionPolicy.RUNTIME_OVERHEAD_RATIO;
  /** Context assumed for a model that states none, when {@code generation.max_context} sets none either. */
  public static final int ASSUMED_CONTEXT = SelectionPolicy.ASSUMED_CONTEXT;

  public Footprint {
    if (weightBytes < 0 || kvBytesPerToken < 0 || contextTokens < 0 || concurrency < 1 || rowsPerStream < 1 || overheadBytes < 0) {
      throw new IllegalArgumentException("footprint out of range: " + weightBytes + " B weights, " + kvBytesPerToken + " B/token, "
          + concurrency + " x " + rowsPerStream + " x " + contextTokens + " tokens, overhead " + overheadBytes);
    }
  }

  /** Weights and a KV budget for {@code concurrency} streams of {@code contextTokens}; no overhead. */
  public static Footprint of(long weightBytes, long kvBytesPerToken, int contextTokens, int concurrency) {
    return new Footprint(weightBytes, kvBytesPerToken, contextTokens, concurrency, 1, 0);
  }

  /** This footprint with the runtime overhead: {@code fixedBytes} plus {@link #RUNTIME_OVERHEAD_RATIO} of the weights. */
  public Footprint withOverhead(long fixedBytes) {
    return new Footprint(weightBytes, kvBytesPerToken, contextTokens, concurrency, rowsPerStream,
        fixedBytes + (long) (weightBytes * RUNTIME_OVERHEAD_RATIO));
  }

  /** The context a model serves: {@code modelContext} capped by {@code cap} (0 = no cap); see the class comment. */
  public static int effectiveContext(int cap, int modelContext) {
    if (modelContext > 0) {
      return cap > 0 ? Math.min(cap, modelContext) : modelContext;
    }
    return cap > 0 ? cap : ASSUMED_CONTEXT;
  }

  /** The KV budget: bytes per token x context x streams x rows per stream. */
  public long kvBytes() {
    return kvBytesPerToken * contextTokens * concurrency * rowsPerStream;
  }

  /** Weights + KV budget: what counts against {@code cache.memory_budget}. */
  public long budgetedBytes() {
    return weightBytes + kvBytes();
  }

  /** Budgeted bytes + overhead: what selection requires the host to have. */
  public long requiredBytes() {
    return budgetedBytes() + overheadBytes;
  }
}
