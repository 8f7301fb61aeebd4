package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class NearestKroneckerTest {
  static KronFactors randomFactors(KronShape shape, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] a = new float[shape.rank() * shape.m1() * shape.n1()];
    float[] b = new float[shape.rank() * shape.m2() * shape.n2()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) random.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) random.nextGaussian();
    }
    return new KronFactors(shape, a, b);
  }

  static float[] randomMatrix(int m, int n, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    float[] w = new float[m * n];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) random.nextGaussian();
    }
    return w;
  }

  @Test
  void fit_recoversAnExactSumOfKroneckerProducts() {
    for (KronShape shape : new KronShape[] {
        new KronShape(12, 24, 2, 4, 2), new KronShape(3, 2, 8, 16, 2), new KronShape(10, 6, 2, 1, 1)}) {
      float[] w = randomFactors(shape, 1).dense();
      NearestKronecker.Fit fit = NearestKronecker.fit(w, shape, Workers.single());
      double norm = Matrices.squaredNorm(w);
      assertTrue(fit.squaredError() < 1e-8 * norm, shape + ": error " + fit.squaredError());
      assertTrue(Matrices.squaredDistance(w, fit.factors().dense()) < 1e-8 * norm, shape + ": reconstruction");
    }
  }

  @Test
  void fit_reportedErrorEqualsTheReconstructionError() {
    KronShape shape = new KronShape(16, 8, 4, 2, 3);
    float[] w = randomMatrix(shape.in(), shape.out(), 5);
    NearestKronecker.Fit fit = NearestKronecker.fit(w, shape, Workers.single());
    assertEquals(Matrices.squaredDistance(w, fit.factors().dense()), fit.squaredError(), 1e-3 * fit.squaredError());
  }

  @Test
  void fit_higherRankNeverFitsWorse() {
    float[] w = randomMatrix(32, 64, 9);
    double previous = Double.POSITIVE_INFINITY;
    for (int r = 1; r <= 8; r++) {
      double e = NearestKronecker.fit(w, new KronShape(16, 16, 2, 4, r), Workers.single()).squaredError();
      assertTrue(e <= previous + 1e-6, "rank " + r);
      previous = e;
    }
    assertTrue(previous < 1e-6 * Matrices.squaredNorm(w), "full rank (m2·n2 = 8) is exact");
  }
}
