package dev.edgelm.compressor.kron;

/**
 * Options of a Kronecker compression. Immutable; start from {@link #DEFAULTS} and change what you need.
 *
 * @param preset which layers are factored and how ({@link KronPreset})
 * @param mlpRank rank of the MLP factors under {@link KronPreset#TQ_GPT2}, or 0 for the preset's 4
 * @param targetRatio parameters kept, as a fraction of the base model's, for {@link KronPreset#AUTO}
 * @param permutationIterations rounds of permutation search per matrix; 0 fits without permutations
 * @param maxPermutationSide rows or columns above which that side is not searched (assignment is O(n³))
 * @param refitIterations alternating-least-squares sweeps per layer in the activation-aware refit
 * @param refitSteps how many groups the transformer blocks are split into for the activation-aware
 *     refit; activations are captured again from the partly compressed model before each group
 * @param refitDamping ridge of the refit's normal equations, relative to their mean diagonal
 * @param embeddingLookupWeight in the tied embedding's refit, weight of the lookup's (unweighted)
 *     error beside the head's output error, relative to the head inputs' mean energy per feature
 * @param weightAnchor in the refit of a linear layer, weight of the weight-space error
 *     {@code ‖W − Ŵ‖²} beside the output error {@code ‖X(W − Ŵ)‖²}, relative to the inputs' mean
 *     energy per feature: it keeps the factors near W in directions the calibration text does not excite
 * @param threads worker threads for the dense kernels
 */
public record KronOptions(
    KronPreset preset,
    int mlpRank,
    double targetRatio,
    int permutationIterations,
    int maxPermutationSide,
    int refitIterations,
    int refitSteps,
    double refitDamping,
    double embeddingLookupWeight,
    double weightAnchor,
    int threads) {
  public static final KronPreset DEFAULT_PRESET = KronPreset.TQ_GPT2;
  public static final int DEFAULT_TQ_MLP_RANK = 4;
  public static final double DEFAULT_TARGET_RATIO = 0.65;
  public static final int DEFAULT_PERMUTATION_ITERATIONS = 4;
  public static final int DEFAULT_MAX_PERMUTATION_SIDE = 4096;
  public static final int DEFAULT_REFIT_ITERATIONS = 8;
  public static final int DEFAULT_REFIT_STEPS = 4;
  public static final double DEFAULT_REFIT_DAMPING = 1e-5;
  /**
   * Chosen on gpt2-fixture from {0, 0.1, 0.3, 1, 3} by TinyStories perplexity (a text that is
   * neither the calibration text nor the WikiText evaluation text): 229, 212, 225, 246, 269.
   */
  public static final double DEFAULT_EMBEDDING_LOOKUP_WEIGHT = 0.1;

  /**
   * Chosen on gpt2-fixture like the lookup weight, from {0, 0.01, 0.1, 1}: TinyStories perplexity
   * 170.36, 170.75, 172.68, 175.45, while the largest weight-space error of a refit matrix
   * ({@code layers.1.mlp.up}) falls 12.2, 1.58, 0.71, 0.57. Without an anchor the refit fits the
   * calibration text's input subspace and lets the factors grow without bound outside it; 0.01
   * bounds them for +0.2% perplexity.
   */
  public static final double DEFAULT_WEIGHT_ANCHOR = 0.01;

  public static final KronOptions DEFAULTS = new KronOptions(DEFAULT_PRESET, 0, DEFAULT_TARGET_RATIO,
      DEFAULT_PERMUTATION_ITERATIONS, DEFAULT_MAX_PERMUTATION_SIDE, DEFAULT_REFIT_ITERATIONS, DEFAULT_REFIT_STEPS,
      DEFAULT_REFIT_DAMPING, DEFAULT_EMBEDDING_LOOKUP_WEIGHT, DEFAULT_WEIGHT_ANCHOR, Math.max(1, Runtime.getRuntime().availableProcessors()));

  public KronOptions {
    if (preset == null) {
      throw new IllegalArgumentException("preset is required");
    }
    if (mlpRank < 0) {
      throw new IllegalArgumentException("rank must be positive, got " + mlpRank);
    }
    if (!(targetRatio > 0 && targetRatio < 1)) {
      throw new IllegalArgumentException("target ratio must be between 0 and 1 (exclusive), got " + targetRatio);
    }
    if (permutationIterations < 0 || maxPermutationSide < 0 || refitIterations < 0) {
      throw new IllegalArgumentException("iteration counts and sizes cannot be negative");
    }
    if (refitSteps < 1) {
      throw new IllegalArgumentException("refit steps must be at least 1, got " + refitSteps);
    }
    if (!(refitDamping >= 0) || !(embeddingLookupWeight >= 0) || !(weightAnchor >= 0)) {
      throw new IllegalArgumentException("damping, lookup weight and weight anchor cannot be negative");
    }
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
  }

  /** The MLP rank {@link KronPreset#TQ_GPT2} uses. */
  public int effectiveMlpRank() {
    return mlpRank == 0 ? DEFAULT_TQ_MLP_RANK : mlpRank;
  }

  public KronOptions withPreset(KronPreset p) {
    return new KronOptions(p, mlpRank, targetRatio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withMlpRank(int r) {
    return new KronOptions(preset, r, targetRatio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withTargetRatio(double ratio) {
    return new KronOptions(preset, mlpRank, ratio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withPermutationIterations(int n) {
    return new KronOptions(preset, mlpRank, targetRatio, n, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withMaxPermutationSide(int n) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, n, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withRefitIterations(int n) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, maxPermutationSide, n, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withRefitSteps(int n) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, maxPermutationSide, refitIterations, n,
        refitDamping, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withRefitDamping(double d) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        d, embeddingLookupWeight, weightAnchor, threads);
  }

  public KronOptions withEmbeddingLookupWeight(double w) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, w, weightAnchor, threads);
  }

  public KronOptions withWeightAnchor(double w) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, w, threads);
  }

  public KronOptions withThreads(int n) {
    return new KronOptions(preset, mlpRank, targetRatio, permutationIterations, maxPermutationSide, refitIterations, refitSteps,
        refitDamping, embeddingLookupWeight, weightAnchor, n);
  }
}
