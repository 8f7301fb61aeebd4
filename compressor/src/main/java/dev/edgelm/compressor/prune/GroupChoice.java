package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.prune.PruneOptions.Criterion;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Which row groups of one consumer's input to keep, and the consumer's weights after the cut — the
 * part of pruning that is the same for FFN channel blocks (consumer {@code mlp.down}) and attention
 * heads (consumer {@code attn.out}).
 *
 * <p>Groups are row ranges of W̃ (the intercept row is in none). They may be sorted into bins that
 * must each keep the same number (query heads of one KV head, so every KV head serves as many query
 * heads as the others); without bins the {@code keep} groups of highest score are kept. Scores:
 * lasso — the group's norm in the (reweighted) group-lasso solution at the λ whose support has
 * {@code keep} groups; magnitude — the squared norm of the group's rows plus what the caller gives
 * for the producer's columns; fluctuation (FLAP) — Σ Var(h_c)·‖row c‖². Then either the least-squares
 * refit of the survivors with the intercept ({@link GroupLasso#refit}), or the survivors' own rows
 * (fluctuation adding the removed features' means to the bias, as FLAP compensates).
 */
final class GroupChoice {
  private GroupChoice() {}

  /**
   * What was chosen.
   *
   * @param rows the kept input features, ascending (the intercept not included)
   * @param weights W̃' [n, m], zero outside the kept rows and the intercept
   * @param errorBefore relative reconstruction error with the survivors' weights before the refit
   * @param weightError ‖W − W'‖ / ‖W‖ over the weight rows (not the bias)
   */
  record Result(boolean[] kept, int[] rows, double[] weights, double lambda, int rounds, double errorBefore, double errorAfter,
      double weightError) {
    List<Integer> keptGroups() {
      List<Integer> out = new ArrayList<>();
      for (int g = 0; g < kept.length; g++) {
        if (kept[g]) {
          out.add(g);
        }
      }
      return out;
    }
  }

  /**
   * @param bins bin of each group, or null for one bin; each bin keeps {@code keep / bins} groups
   * @param producerMagnitude per group, the squared norm of the producer's columns (magnitude only)
   */
  static Result choose(Problem p, int[][] groups, int[] bins, int keep, double[] producerMagnitude, PruneOptions options) {
    int n = p.n();
    int m = p.m();
    int f = p.features();
    GroupLasso solver = new GroupLasso(p.damped(), p.target(), n, m, groups);
    double lambda = 0;
    int rounds = 0;
    double[] scores;
    switch (options.criterion()) {
      case LASSO -> {
        GroupLasso.Solution s = solver.solve(keep, options.reweight(), GroupLasso.DEFAULT_ITERATIONS, GroupLasso.DEFAULT_BISECTIONS);
        lambda = s.lambda();
        rounds = s.rounds();
        scores = solver.groupNorms(s.weights());
      }
      case MAGNITUDE -> {
        scores = rowNorms(p, groups);
        for (int g = 0; g < groups.length; g++) {
          scores[g] += producerMagnitude[g];
        }
      }
      case FLUCTUATION -> scores = fluctuation(p, groups);
      default -> throw new IllegalStateException();
    }
    boolean[] kept = bins == null ? top(scores, keep, null, 0) : topPerBin(scores, bins, keep);
    List<Integer> rowList = new ArrayList<>();
    for (int g = 0; g < groups.length; g++) {
      if (kept[g]) {
        for (int r = groups[g][0]; r < groups[g][1]; r++) {
          rowList.add(r);
        }
      }
    }
    int[] rows = rowList.stream().mapToInt(Integer::intValue).toArray();
    double[] plain = new double[n * m];
    for (int r : rows) {
      System.arraycopy(p.target(), r * m, plain, r * m, m);
    }
    System.arraycopy(p.target(), f * m, plain, f * m, m);
    if (options.criterion() == Criterion.FLUCTUATION) {
      double[] mean = p.means();
      boolean[] keptRow = new boolean[f];
      for (int r : rows) {
        keptRow[r] = true;
      }
      for (int r = 0; r < f; r++) {
        if (!keptRow[r]) {
          for (int j = 0; j < m; j++) {
            plain[f * m + j] += mean[r] * p.target()[r * m + j];
          }
        }
      }
    }
    int[] support = Arrays.copyOf(rows, rows.length + 1);
    support[rows.length] = f;
    double[] chosen = options.refit() ? solver.refit(support) : plain;
    return new Result(kept, rows, chosen, lambda, rounds, p.relativeError(plain), p.relativeError(chosen),
        weightError(p.target(), chosen, f, m));
  }

  private static double[] rowNorms(Problem p, int[][] groups) {
    int m = p.m();
    double[] s = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      for (int i = groups[g][0] * m; i < groups[g][1] * m; i++) {
        s[g] += p.target()[i] * p.target()[i];
      }
    }
    return s;
  }

  /** FLAP: Σ over the group's features of Var(h_c)·‖row c of W‖². */
  static double[] fluctuation(Problem p, int[][] groups) {
    double[] mean = p.means();
    int n = p.n();
    int m = p.m();
    double[] s = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      for (int c = groups[g][0]; c < groups[g][1]; c++) {
        double variance = Math.max(0, p.gram()[c * n + c] - mean[c] * mean[c]);
        double row = 0;
        for (int j = 0; j < m; j++) {
          row += p.target()[c * m + j] * p.target()[c * m + j];
        }
        s[g] += variance * row;
      }
    }
    return s;
  }

  /** The {@code keep} highest scores (ties: the lower index), among groups in {@code bin} when bins are given. */
  static boolean[] top(double[] scores, int keep, int[] bins, int bin) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, c) -> scores[a] != scores[c] ? Double.compare(scores[c], scores[a]) : Integer.compare(a, c));
    boolean[] kept = new boolean[scores.length];
    int taken = 0;
    for (int i = 0; i < order.length && taken < keep; i++) {
      if (bins == null || bins[order[i]] == bin) {
        kept[order[i]] = true;
        taken++;
      }
    }
    return kept;
  }

  private static boolean[] topPerBin(double[] scores, int[] bins, int keep) {
    int count = Arrays.stream(bins).max().orElse(-1) + 1;
    if (keep % count != 0) {
      throw new IllegalArgumentException("keep " + keep + " is not a multiple of " + count + " bins");
    }
    boolean[] kept = new boolean[scores.length];
    for (int b = 0; b < count; b++) {
      boolean[] inBin = top(scores, keep / count, bins, b);
      for (int g = 0; g < kept.length; g++) {
        kept[g] |= inBin[g];
      }
    }
    return kept;
  }

  private static double weightError(double[] w, double[] x, int f, int m) {
    double num = 0;
    double den = 0;
    for (int i = 0; i < f * m; i++) {
      num += (w[i] - x[i]) * (w[i] - x[i]);
      den += w[i] * w[i];
    }
    return den == 0 ? 0 : Math.sqrt(num / den);
  }
}
