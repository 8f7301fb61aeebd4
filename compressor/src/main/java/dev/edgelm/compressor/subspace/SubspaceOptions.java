package dev.edgelm.compressor.subspace;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.ModelConfig;
import java.util.Locale;

/**
 * Options of the {@code subspace} step: the kept hidden size, given directly ({@code --hidden K}) or
 * as a reduction of the base's ({@code --target-ratio R}); either way rounded to a multiple of
 * {@link #MULTIPLE}. Immutable.
 *
 * @param hidden the asked hidden size, or 0 when {@code targetRatio} gives it
 * @param targetRatio the asked hidden reduction in (0, 1), or 0 when {@code hidden} gives it
 * @param untieHead give a tied head its own K × vocab matrix instead of the adapter (larger; for comparison)
 */
public record SubspaceOptions(int hidden, double targetRatio, boolean untieHead) {
  /** K is rounded to a multiple of this (int4 blocks and ONNX Runtime's kernels like widths of 16). */
  public static final int MULTIPLE = 16;

  public SubspaceOptions {
    if ((hidden > 0) == (targetRatio > 0)) {
      throw new IllegalArgumentException("exactly one of hidden and target ratio is given");
    }
    if (hidden < 0 || !(targetRatio >= 0 && targetRatio < 1)) {
      throw new IllegalArgumentException("hidden must be positive and the target ratio in (0, 1)");
    }
  }

  /**
   * The kept hidden size K for a base of {@code config}.
   *
   * @throws UsageException when K is not smaller than the base's hidden size or too small for its heads
   */
  public int keptHidden(ModelConfig config) {
    int d = config.hiddenSize();
    double asked = hidden > 0 ? hidden : d * (1 - targetRatio);
    int k = (int) Math.round(asked / MULTIPLE) * MULTIPLE;
    String what = hidden > 0 ? "--hidden " + hidden : String.format(Locale.ROOT, "--target-ratio %s", targetRatio);
    if (k >= d) {
      throw new UsageException("subspace: " + what + " keeps K = " + k + " (rounded to a multiple of " + MULTIPLE
          + "), not smaller than the hidden size " + d + "; ask for K of at most " + (d - MULTIPLE));
    }
    int least = Math.max(MULTIPLE, config.numHeads());
    if (k < least) {
      throw new UsageException("subspace: " + what + " keeps K = " + k + " (rounded to a multiple of " + MULTIPLE
          + "), below the " + least + " this model's " + config.numHeads() + " heads need (one direction per head at"
          + " least, and one block of " + MULTIPLE + "); ask for K of at least " + least);
    }
    return k;
  }

  /** This step's part of a variant id: {@code subspace-r0.2}, {@code subspace-h208}, with {@code -untied}. */
  public String variantId() {
    String size = hidden > 0 ? "h" + hidden : "r" + String.format(Locale.ROOT, "%s", targetRatio);
    return "subspace-" + size + (untieHead ? "-untied" : "");
  }
}
