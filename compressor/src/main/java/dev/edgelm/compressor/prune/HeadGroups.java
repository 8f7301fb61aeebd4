package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.prune.PruneOptions.HeadGroup;
import java.util.ArrayList;
import java.util.List;

/**
 * Attention heads as pruning groups, the consumer being {@code attn.out} (its input rows are the
 * query heads' contexts, head-major). With {@link HeadGroup#KV} a group is one KV head with the
 * query heads it serves: their rows of attn.out, their Q columns and the KV head's K and V columns,
 * so the KV cache shrinks with it. With {@link HeadGroup#QUERY} a group is one query head (its rows
 * of attn.out and Q columns); the KV heads stay, and every KV head keeps the same number of query
 * heads (groups are binned by KV head), so the grouped-query mapping stays a plain repeat.
 *
 * <p>Query head {@code h} reads KV head {@code h / (heads / kvHeads)} before and after: kept heads
 * stay in order and every KV group keeps the same count.
 */
final class HeadGroups {
  private final int headDim;
  private final int heads;
  private final int kvHeads;
  private final HeadGroup mode;

  HeadGroups(Block b, int headDim, HeadGroup mode) {
    this.headDim = headDim;
    this.heads = b.numHeads(headDim);
    this.kvHeads = b.numKvHeads(headDim);
    this.mode = mode;
  }

  /** Query heads per KV head. */
  int perKv() {
    return heads / kvHeads;
  }

  int count() {
    return mode == HeadGroup.KV ? kvHeads : heads;
  }

  /** Row ranges of attn.out's input. */
  int[][] groups() {
    int rowsPerGroup = (mode == HeadGroup.KV ? perKv() : 1) * headDim;
    int[][] groups = new int[count()][];
    for (int g = 0; g < groups.length; g++) {
      groups[g] = new int[] {g * rowsPerGroup, (g + 1) * rowsPerGroup};
    }
    return groups;
  }

  /** KV head of each group (query mode), or null (each KV group is one group). */
  int[] bins() {
    if (mode == HeadGroup.KV) {
      return null;
    }
    int[] bins = new int[heads];
    for (int h = 0; h < heads; h++) {
      bins[h] = h / perKv();
    }
    return bins;
  }

  /** Parameters one group holds: Q (and K, V) columns with their biases, rows of attn.out. */
  long perGroup(Block b) {
    int d = b.qkv().inFeatures();
    int bias = b.qkv().bias() == null ? 0 : 1;
    long query = (long) headDim * (d + bias) + (long) headDim * d;
    if (mode == HeadGroup.QUERY) {
      return query;
    }
    return perKv() * query + 2L * headDim * (d + bias);
  }

  /** Squared norm of each group's Q (and K, V) columns. */
  double[] producerMagnitude(Block b) {
    double[] s = new double[count()];
    for (int g = 0; g < s.length; g++) {
      for (int c : producerColumns(List.of(g))) {
        s[g] += Slices.columnEnergy(b.qkv(), c, c + 1);
      }
    }
    return s;
  }

  /** The block with only the chosen heads; attn.out from the choice's weights with its intercept as the bias. */
  Block narrowed(Block b, GroupChoice.Result r, Problem p) {
    int[] cols = producerColumns(r.keptGroups()).stream().mapToInt(Integer::intValue).toArray();
    return new Block(b.attnNorm(), Slices.columns(b.qkv(), cols), Slices.consumer(r.weights(), r.rows(), p.n(), p.m()),
        b.mlpNorm(), b.up(), b.gate(), b.down());
  }

  /** Kept query heads of the kept groups, ascending. */
  List<Integer> queryHeads(List<Integer> keptGroups) {
    List<Integer> out = new ArrayList<>();
    for (int g : keptGroups) {
      if (mode == HeadGroup.KV) {
        for (int h = g * perKv(); h < (g + 1) * perKv(); h++) {
          out.add(h);
        }
      } else {
        out.add(g);
      }
    }
    return out;
  }

  /** KV heads the kept groups leave. */
  int keptKvHeads(List<Integer> keptGroups) {
    return mode == HeadGroup.KV ? keptGroups.size() : kvHeads;
  }

  /** qkv columns of the kept groups, in the [queries | keys | values] order. */
  private List<Integer> producerColumns(List<Integer> keptGroups) {
    List<Integer> cols = new ArrayList<>();
    for (int h : queryHeads(keptGroups)) {
      for (int i = 0; i < headDim; i++) {
        cols.add(h * headDim + i);
      }
    }
    if (mode == HeadGroup.KV) {
      int q = heads * headDim;
      int kv = kvHeads * headDim;
      for (int offset : new int[] {q, q + kv}) {
        for (int g : keptGroups) {
          for (int i = 0; i < headDim; i++) {
            cols.add(offset + g * headDim + i);
          }
        }
      }
    } else {
      for (int c = heads * headDim; c < heads * headDim + 2 * kvHeads * headDim; c++) {
        cols.add(c);
      }
    }
    return cols;
  }
}
