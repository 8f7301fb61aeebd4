package dev.edgelm.compressor.prune;

import java.util.Locale;

/**
 * How {@code prune} removes structure: what fraction of the blocks' linear parameters, which kind of
 * group, how groups are chosen.
 *
 * @param targetRatio fraction of the blocks' linear parameters to remove (embeddings and head
 *     excluded), in (0, 0.9]
 * @param granularity which groups may be removed
 * @param ffnBlock FFN channels per group (their columns of up and gate, bias entries, rows of down)
 * @param criterion how groups are scored
 * @param reweight lasso: refresh γ_g = 1/(‖W'_g‖ + 1e-3) every {@link GroupLasso#REWEIGHT_INTERVAL}
 *     iterations (the seed's reweighted group lasso); false is plain group lasso
 * @param refit refit the survivors by least squares with an intercept; false keeps their weights
 *     (fluctuation then compensates the bias with the removed channels' means, as FLAP does)
 * @param headGroup what one attention-head group is (heads and both)
 * @param allocation how the removal is spread across layers (and, with both, between heads and FFN)
 */
public record PruneOptions(double targetRatio, Granularity granularity, int ffnBlock, Criterion criterion, boolean reweight,
    boolean refit, HeadGroup headGroup, Allocation allocation) {
  public static final double MAX_TARGET_RATIO = 0.9;
  public static final int DEFAULT_FFN_BLOCK = 16;
  public static final Granularity DEFAULT_GRANULARITY = Granularity.BOTH;
  /** A KV head with its query heads: measured better than query heads alone on stories260K (docs/COMPRESSION.md). */
  public static final HeadGroup DEFAULT_HEAD_GROUP = HeadGroup.KV;
  public static final Criterion DEFAULT_CRITERION = Criterion.LASSO;
  public static final Allocation DEFAULT_ALLOCATION = Allocation.UNIFORM;

  public PruneOptions {
    if (!(targetRatio > 0 && targetRatio <= MAX_TARGET_RATIO)) {
      throw new IllegalArgumentException("target ratio must be in (0, " + MAX_TARGET_RATIO + "], got " + targetRatio);
    }
    if (ffnBlock < 1) {
      throw new IllegalArgumentException("FFN block must be at least 1 channel, got " + ffnBlock);
    }
    if (granularity == null || criterion == null || headGroup == null || allocation == null) {
      throw new IllegalArgumentException("granularity, criterion, head group and allocation are required");
    }
  }

  /** Which groups a pruning step may remove. */
  public enum Granularity {
    HEADS, FFN, BOTH;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }

    public boolean heads() {
      return this != FFN;
    }

    public boolean ffn() {
      return this != HEADS;
    }
  }

  /** How the removal is spread across layers. */
  public enum Allocation {
    /** Every layer loses the same number of groups. */
    UNIFORM,
    /** Greedy on every layer's reconstruction-error curve, one global budget ({@link Budget#global}). */
    GLOBAL;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** What one attention-head group removes. */
  public enum HeadGroup {
    /** A KV head with the query heads it serves (the KV cache shrinks). */
    KV,
    /** Query heads alone, the same number from every KV head; the KV heads stay. */
    QUERY;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** How groups are scored. */
  public enum Criterion {
    /** (Reweighted) group lasso on the consumer's reconstruction error. */
    LASSO,
    /** The group's weights' squared norm (no activations). */
    MAGNITUDE,
    /** FLAP's fluctuation: each channel's activation variance times its outgoing weights' squared norm. */
    FLUCTUATION;

    public String id() {
      return name().toLowerCase(Locale.ROOT);
    }
  }

  /** E.g. {@code prune-ffn-0.3-lasso-rw}. */
  public String variantId() {
    String r = String.format(Locale.ROOT, "%.2f", targetRatio).replaceAll("0+$", "").replaceAll("\\.$", "");
    return "prune-" + granularity.id() + "-" + r + "-" + criterion.id()
        + (criterion == Criterion.LASSO && reweight ? "-rw" : "") + (refit ? "" : "-norefit")
        + (granularity.heads() && headGroup == HeadGroup.QUERY ? "-qheads" : "")
        + (allocation == DEFAULT_ALLOCATION ? "" : "-" + allocation.id());
  }
}
