package dev.edgelm.compressor.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class ErrorCurvesTest {
  private static final int ROWS = 400;

  /**
   * The incremental curve equals, point by point, the loss computed from scratch: the consumer's
   * output error on the activations when the removed features are replaced by their means (FLAP's
   * bias compensation), over the output energy.
   */
  @Test
  void curve_isTheMeanCompensatedLossOfEachPrefix_computedFromScratch() {
    Random r = new Random(5);
    int f = 12;
    int m = 3;
    int n = f + 1;
    double[] h = new double[ROWS * n];
    for (int t = 0; t < ROWS; t++) {
      double shared = r.nextGaussian();
      for (int i = 0; i < f; i++) {
        h[t * n + i] = r.nextGaussian() * (1 + i % 3) + 0.5 * shared + i * 0.1; // correlated, non-zero means
      }
      h[t * n + f] = 1;
    }
    double[] gram = new double[n * n];
    for (int t = 0; t < ROWS; t++) {
      for (int i = 0; i < n; i++) {
        for (int j = 0; j < n; j++) {
          gram[i * n + j] += h[t * n + i] * h[t * n + j] / ROWS;
        }
      }
    }
    double[] w = new double[n * m];
    for (int i = 0; i < w.length; i++) {
      w[i] = r.nextGaussian();
    }
    Problem p = new Problem(gram, gram, w, n, m);
    int[][] groups = {{0, 3}, {3, 6}, {6, 9}, {9, 12}};
    int[][] units = {{2}, {0}, {3}};

    double[] curve = ErrorCurves.curve(p, groups, units);

    double energy = 0;
    for (int t = 0; t < ROWS; t++) {
      for (int j = 0; j < m; j++) {
        double y = 0;
        for (int i = 0; i < n; i++) {
          y += h[t * n + i] * w[i * m + j];
        }
        energy += y * y / ROWS;
      }
    }
    boolean[] removed = new boolean[f];
    assertEquals(0, curve[0]);
    for (int s = 0; s < units.length; s++) {
      for (int c = groups[units[s][0]][0]; c < groups[units[s][0]][1]; c++) {
        removed[c] = true;
      }
      double loss = 0;
      for (int t = 0; t < ROWS; t++) {
        for (int j = 0; j < m; j++) {
          double d = 0;
          for (int c = 0; c < f; c++) {
            if (removed[c]) {
              d += (h[t * n + c] - p.means()[c]) * w[c * m + j];
            }
          }
          loss += d * d / ROWS;
        }
      }
      assertEquals(loss / energy, curve[s + 1], 1e-9, "after " + (s + 1) + " units");
    }
    assertTrue(curve[3] > curve[1]);
  }

  @Test
  void binnedUnits_takeOneGroupFromEveryBin_lowestFirst() {
    double[] scores = {5, 1, 2, 9, 0.5, 7};
    int[] bins = {0, 0, 1, 1, 2, 2};
    int[][] units = ErrorCurves.binnedUnits(scores, bins);
    assertArrayEquals(new int[] {1, 2, 4}, units[0]);
    assertArrayEquals(new int[] {0, 3, 5}, units[1]);
  }
}
