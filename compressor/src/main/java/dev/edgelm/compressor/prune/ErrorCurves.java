package dev.edgelm.compressor.prune;

import java.util.Arrays;

/**
 * A consumer's reconstruction-error curve for the global budget: the normalised output loss after
 * removing its groups one unit at a time, in FLAP order (lowest fluctuation first), each removal
 * compensated by the removed features' means (so the loss is on the centred Gram, cross terms
 * between removed groups included). No refit is run per point: the curve is exact for "remove and
 * compensate the bias" and computed incrementally ({@code u = C_{:,R} W_R} grows by one group's
 * columns per step), so all of a layer's points cost one [n, n]·[n, m] product.
 *
 * <p>Normalised by the consumer's output energy {@code ‖H̃W̃‖²}, so layers of different scale compare.
 */
final class ErrorCurves {
  private ErrorCurves() {}

  /**
   * @param units groups removed together at each step (one group, or one query head from every KV
   *     head), in removal order
   * @return {@code curve[j]}: normalised loss with the first {@code j} units removed ({@code curve[0] = 0})
   */
  static double[] curve(Problem p, int[][] groups, int[][] units) {
    int n = p.n();
    int m = p.m();
    int f = p.features();
    double[] mean = p.means();
    double[] gram = p.gram();
    double[] w = p.target();
    double energy = GroupLasso.quadratic(gram, w, new double[n * m], n, m);
    double[] u = new double[f * m];
    double[] curve = new double[units.length + 1];
    double loss = 0;
    boolean[] removed = new boolean[f];
    for (int s = 0; s < units.length; s++) {
      for (int g : units[s]) {
        for (int c = groups[g][0]; c < groups[g][1]; c++) {
          // L(R ∪ c) = L(R) + 2⟨w_c, u_c⟩ + C_cc‖w_c‖², then u += C_{:,c} w_c (C the covariance).
          double cross = 0;
          double self = 0;
          for (int j = 0; j < m; j++) {
            cross += w[c * m + j] * u[c * m + j];
            self += w[c * m + j] * w[c * m + j];
          }
          double cc = gram[c * n + c] - mean[c] * mean[c];
          loss += 2 * cross + cc * self;
          for (int i = 0; i < f; i++) {
            double cic = gram[i * n + c] - mean[i] * mean[c];
            if (cic != 0) {
              for (int j = 0; j < m; j++) {
                u[i * m + j] += cic * w[c * m + j];
              }
            }
          }
          removed[c] = true;
        }
      }
      curve[s + 1] = energy == 0 ? 0 : Math.max(0, loss) / energy;
    }
    return curve;
  }

  /** Units of one group each, lowest fluctuation first. */
  static int[][] singleUnits(double[] scores) {
    Integer[] order = ascending(scores);
    int[][] units = new int[order.length][];
    for (int i = 0; i < order.length; i++) {
      units[i] = new int[] {order[i]};
    }
    return units;
  }

  /** Units of one group from every bin (query heads off every KV head alike), each bin lowest first. */
  static int[][] binnedUnits(double[] scores, int[] bins) {
    int count = Arrays.stream(bins).max().orElse(-1) + 1;
    int perBin = bins.length / count;
    Integer[] order = ascending(scores);
    int[][] units = new int[perBin][count];
    int[] filled = new int[count];
    for (int g : order) {
      units[filled[bins[g]]++][bins[g]] = g;
    }
    return units;
  }

  private static Integer[] ascending(double[] scores) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    Arrays.sort(order, (a, b) -> scores[a] != scores[b] ? Double.compare(scores[a], scores[b]) : Integer.compare(a, b));
    return order;
  }
}
