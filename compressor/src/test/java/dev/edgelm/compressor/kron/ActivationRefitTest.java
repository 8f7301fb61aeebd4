package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class ActivationRefitTest {
  /** Inputs with a few dominant directions, as real activations have. */
  static float[] anisotropicInputs(int rows, int m, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] x = new float[rows * m];
    for (int t = 0; t < rows; t++) {
      for (int i = 0; i < m; i++) {
        double scale = i % 7 == 0 ? 10 : 0.3;
        x[t * m + i] = (float) (random.nextGaussian() * scale);
      }
    }
    return x;
  }

  static double[] gram(float[] x, int rows, int m) {
    float[] g = Matrices.transposedMultiply(x, rows, m, x, m, Workers.single());
    double[] out = new double[g.length];
    for (int i = 0; i < g.length; i++) {
      out[i] = g[i];
    }
    return out;
  }

  static double outputError(float[] x, int rows, float[] w, float[] approx, int m, int n) {
    float[] y = Matrices.multiply(x, rows, m, w, n, Workers.single());
    float[] yh = Matrices.multiply(x, rows, m, approx, n, Workers.single());
    return Math.sqrt(Matrices.squaredDistance(y, yh) / Matrices.squaredNorm(y));
  }

  @Test
  void activationRefit_lowersOutputErrorOnCalibrationActivations() {
    KronShape shape = new KronShape(12, 16, 4, 2, 3);
    int m = shape.in();
    int n = shape.out();
    float[] w = NearestKroneckerTest.randomMatrix(m, n, 1);
    float[] x = anisotropicInputs(400, m, 2);
    PermutationSearch.Result fit = PermutationSearch.search(w, shape, 2, 4096, Workers.single());

    ActivationRefit.Result r = ActivationRefit.refit(w, fit.factors(), fit.rowPos(), fit.colPos(), gram(x, 400, m), 20, 1e-6,
        Workers.single());

    float[] before = Matrices.gather(fit.factors().dense(), m, n, fit.rowPos(), fit.colPos());
    float[] after = Matrices.gather(r.factors().dense(), m, n, fit.rowPos(), fit.colPos());
    double e0 = outputError(x, 400, w, before, m, n);
    double e1 = outputError(x, 400, w, after, m, n);
    assertEquals(e0, r.errorBefore(), 1e-3);
    assertEquals(e1, r.errorAfter(), 1e-3);
    assertTrue(e1 < 0.9 * e0, "refit " + e1 + " vs weight-only " + e0);
    // The weight-space error rises: the refit trades it for output error where inputs live.
    assertTrue(Matrices.squaredDistance(w, after) >= Matrices.squaredDistance(w, before) * (1 - 1e-6));
  }

  @Test
  void activationRefit_withIdentityGramKeepsTheWeightSpaceOptimum() {
    KronShape shape = new KronShape(8, 6, 2, 3, 2);
    int m = shape.in();
    float[] w = NearestKroneckerTest.randomMatrix(m, shape.out(), 3);
    NearestKronecker.Fit fit = NearestKronecker.fit(w, shape, Workers.single());
    double[] identity = new double[m * m];
    for (int i = 0; i < m; i++) {
      identity[i * m + i] = 1;
    }
    ActivationRefit.Result r = ActivationRefit.refit(w, fit.factors(), null, null, identity, 10, 1e-9, Workers.single());
    assertEquals(r.errorBefore(), r.errorAfter(), 1e-4);
  }
}
