package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.ir.Block;

/**
 * FFN channel blocks as pruning groups: {@code block} consecutive channels, their columns of up (and
 * gate), their bias entries and their rows of down (the consumer).
 */
final class FfnGroups {
  private FfnGroups() {}

  static int count(int width, int block) {
    return (width + block - 1) / block;
  }

  static int[][] groups(int width, int block) {
    int[][] groups = new int[count(width, block)][];
    for (int g = 0; g < groups.length; g++) {
      groups[g] = new int[] {g * block, Math.min(width, (g + 1) * block)};
    }
    return groups;
  }

  /** Parameters one FFN channel holds in {@code b}: up (and gate) column and bias, down row. */
  static long perChannel(Block b) {
    int d = b.up().inFeatures();
    long n = d + (b.up().bias() == null ? 0 : 1) + d;
    if (b.gate() != null) {
      n += d + (b.gate().bias() == null ? 0 : 1);
    }
    return n;
  }

  /** Squared norm of each group's producer columns (up and gate). */
  static double[] producerMagnitude(Block b, int[][] groups) {
    double[] s = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      s[g] = Slices.columnEnergy(b.up(), groups[g][0], groups[g][1])
          + (b.gate() == null ? 0 : Slices.columnEnergy(b.gate(), groups[g][0], groups[g][1]));
    }
    return s;
  }

  /** The block with only the chosen channels; down from the choice's weights with its intercept as the bias. */
  static Block narrowed(Block b, GroupChoice.Result r, Problem p) {
    int[] rows = r.rows();
    return new Block(b.attnNorm(), b.qkv(), b.attnOut(), b.mlpNorm(), Slices.columns(b.up(), rows),
        b.gate() == null ? null : Slices.columns(b.gate(), rows), Slices.consumer(r.weights(), rows, p.n(), p.m()));
  }
}
