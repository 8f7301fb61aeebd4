package dev.edgelm.compressor.prune;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;

class GroupLassoTest {
  private static final int ROWS = 600;
  private static final int GROUP = 4;

  /**
   * H = [A, 0.01·A·M]: the last two groups are small combinations of the first four, so the first four
   * represent H·W exactly (and any support using the last two needs far larger weights), while the
   * last two carry the largest weights, so magnitude pruning would keep them.
   */
  @Test
  void solve_recoversThePlantedGroupSparseSupport() {
    Random r = new Random(7);
    int a = 4 * GROUP;
    int b = 2 * GROUP;
    int f = a + b;
    int m = 6;
    double[] h = new double[ROWS * f];
    double[][] mix = new double[a][b];
    for (double[] row : mix) {
      for (int j = 0; j < b; j++) {
        row[j] = r.nextGaussian() * 0.01;
      }
    }
    for (int t = 0; t < ROWS; t++) {
      for (int i = 0; i < a; i++) {
        h[t * f + i] = r.nextGaussian();
      }
      for (int j = 0; j < b; j++) {
        double v = 0;
        for (int i = 0; i < a; i++) {
          v += h[t * f + i] * mix[i][j];
        }
        h[t * f + a + j] = v;
      }
    }
    double[] w = new double[f * m];
    for (int i = 0; i < f * m; i++) {
      w[i] = r.nextGaussian() * (i >= a * m ? 5 : 0.2);
    }
    double[] gram = gram(h, f);
    double[] damped = damp(gram, f, 1e-6);
    int[][] groups = groups(f);
    GroupLasso lasso = new GroupLasso(damped, w, f, m, groups);

    GroupLasso.Solution s = lasso.solve(4, true, 200, 30);

    assertArrayEquals(new boolean[] {true, true, true, true, false, false}, s.kept());
    double[] refit = lasso.refit(range(0, a));
    double base = GroupLasso.quadratic(gram, w, new double[f * m], f, m);
    assertTrue(GroupLasso.quadratic(gram, w, refit, f, m) / base < 1e-4, "refit on the planted support is exact");
    boolean[] magnitude = lasso.largest(w, 4);
    assertTrue(magnitude[4] && magnitude[5], "the planted weights would fool magnitude pruning");
  }

  @Test
  void refit_isTheLeastSquaresSolutionOnItsSupport() {
    Random r = new Random(3);
    int f = 12;
    int m = 5;
    double[] h = new double[ROWS * f];
    for (int i = 0; i < h.length; i++) {
      h[i] = r.nextGaussian() + (i % f == 0 ? 1 : 0);
    }
    double[] w = new double[f * m];
    for (int i = 0; i < w.length; i++) {
      w[i] = r.nextGaussian();
    }
    double[] gram = damp(gram(h, f), f, 0.01);
    GroupLasso lasso = new GroupLasso(gram, w, f, m, groups(f));
    int[] support = {0, 1, 2, 3, 8, 9, 10, 11};

    double[] x = lasso.refit(support);

    // Optimality: the gradient G(X − W) vanishes on the support rows; rows off it are zero.
    double[] d = new double[f * m];
    for (int i = 0; i < d.length; i++) {
      d[i] = x[i] - w[i];
    }
    double[] grad = GroupLasso.multiply(gram, d, f, m);
    for (int row : support) {
      for (int j = 0; j < m; j++) {
        assertEquals(0, grad[row * m + j], 1e-9);
      }
    }
    for (int row = 4; row < 8; row++) {
      for (int j = 0; j < m; j++) {
        assertEquals(0, x[row * m + j]);
      }
    }
    // And a perturbation on the support only costs more.
    double best = lasso.loss(x);
    x[0] += 1e-3;
    assertTrue(lasso.loss(x) > best);
  }

  @Test
  void solve_keepsExactlyTheAskedCount_withAndWithoutReweighting() {
    Random r = new Random(11);
    int f = 32;
    int m = 4;
    double[] h = new double[ROWS * f];
    for (int i = 0; i < h.length; i++) {
      h[i] = r.nextGaussian();
    }
    double[] w = new double[f * m];
    for (int i = 0; i < w.length; i++) {
      w[i] = r.nextGaussian() * (1 + 3 * (i / m / GROUP));
    }
    GroupLasso lasso = new GroupLasso(damp(gram(h, f), f, 0.01), w, f, m, groups(f));
    for (boolean reweight : new boolean[] {true, false}) {
      GroupLasso.Solution s = lasso.solve(3, reweight, 60, 14);
      int kept = 0;
      for (boolean k : s.kept()) {
        kept += k ? 1 : 0;
      }
      assertEquals(3, kept);
      assertTrue(s.lambda() > 0);
      // On white inputs the loss of a group is about its squared norm: the big ones stay, the small ones go.
      assertTrue(s.kept()[7] && !s.kept()[0] && !s.kept()[1] && !s.kept()[2], java.util.Arrays.toString(s.kept()));
    }
  }

  private static double[] gram(double[] h, int f) {
    double[] g = new double[f * f];
    for (int t = 0; t < ROWS; t++) {
      for (int i = 0; i < f; i++) {
        for (int j = 0; j < f; j++) {
          g[i * f + j] += h[t * f + i] * h[t * f + j] / ROWS;
        }
      }
    }
    return g;
  }

  private static double[] damp(double[] g, int f, double fraction) {
    double mean = 0;
    for (int i = 0; i < f; i++) {
      mean += g[i * f + i] / f;
    }
    double[] d = g.clone();
    for (int i = 0; i < f; i++) {
      d[i * f + i] += fraction * mean;
    }
    return d;
  }

  private static int[][] groups(int f) {
    int[][] g = new int[f / GROUP][];
    for (int i = 0; i < g.length; i++) {
      g[i] = new int[] {i * GROUP, (i + 1) * GROUP};
    }
    return g;
  }

  private static int[] range(int from, int to) {
    int[] r = new int[to - from];
    for (int i = 0; i < r.length; i++) {
      r[i] = from + i;
    }
    return r;
  }
}
