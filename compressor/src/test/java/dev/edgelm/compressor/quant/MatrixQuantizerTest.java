package dev.edgelm.compressor.quant;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.ir.Tensor;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class MatrixQuantizerTest {
  private static final ExecutorService POOL = Executors.newFixedThreadPool(2);

  @AfterAll
  static void shutdown() {
    POOL.shutdownNow();
  }

  /** Correlated activations with a few large channels, as transformer activations have. */
  static float[] activations(int m, int k, Random r) {
    float[] mix = new float[k * k];
    for (int i = 0; i < mix.length; i++) {
      mix[i] = (float) r.nextGaussian() / (float) Math.sqrt(k);
    }
    float[] x = new float[m * k];
    float[] z = new float[k];
    for (int row = 0; row < m; row++) {
      for (int i = 0; i < k; i++) {
        z[i] = (float) r.nextGaussian() * (i % 17 == 0 ? 6f : 1f);
      }
      for (int i = 0; i < k; i++) {
        float s = z[i];
        for (int j = 0; j < k; j++) {
          s += 0.5f * z[j] * mix[j * k + i];
        }
        x[row * k + i] = s;
      }
    }
    return x;
  }

  static Tensor weights(int k, int n, Random r) {
    float[] w = new float[k * n];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (r.nextGaussian() * 0.05 * (r.nextInt(50) == 0 ? 4 : 1));
    }
    return Tensor.of(w, k, n);
  }

  static double outputError(float[] x, int m, Tensor w, Tensor q) {
    int k = w.rows();
    int n = w.cols();
    double err = 0;
    for (int row = 0; row < m; row++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < k; i++) {
          s += x[row * k + i] * (double) (w.data()[i * n + j] - q.data()[i * n + j]);
        }
        err += s * s;
      }
    }
    return err;
  }

  static double[] gram(float[] x, int m, int k) {
    double[] g = new double[k * k];
    for (int row = 0; row < m; row++) {
      for (int i = 0; i < k; i++) {
        double a = x[row * k + i];
        for (int j = 0; j < k; j++) {
          g[i * k + j] += a * x[row * k + j];
        }
      }
    }
    return g;
  }

  @Test
  void int4_gptq_beatsRoundToNearestOnOutputError() {
    Random r = new Random(7);
    int k = 96;
    int n = 300;
    int m = 1024;
    float[] x = activations(m, k, r);
    Tensor w = weights(k, n, r);
    MatrixQuantizer mq = new MatrixQuantizer(new QuantGrid(4, 32, false), POOL);
    double rtn = outputError(x, m, w, mq.rtn(w, 1f).toDense());
    double gptq = outputError(x, m, w, mq.gptq(w, Hessian.of(gram(x, m, k), k, 0.01, false)).toDense());
    double act = outputError(x, m, w, mq.gptq(w, Hessian.of(gram(x, m, k), k, 0.01, true)).toDense());
    MatrixQuantizer.Clip clip = mq.searchClip(w, x, m, ClipScope.CHANNEL, 0);
    double scaled = outputError(x, m, w, mq.rtn(w, clip.ratios()).toDense());
    System.out.printf("rtn %.4f gptq %.4f act %.4f scale %.4f%n", rtn, gptq, act, scaled);
    assertTrue(gptq < 0.7 * rtn, "gptq " + gptq + " rtn " + rtn);
    assertTrue(act < 0.7 * rtn, "gptq act-order " + act + " rtn " + rtn);
    assertTrue(scaled <= rtn, "scale " + scaled + " rtn " + rtn);
  }

  @Test
  void hessian_inverseCholesky_isUpperFactorOfTheDampedInverse() {
    Random r = new Random(3);
    int k = 40;
    float[] x = activations(200, k, r);
    double[] g = gram(x, 200, k);
    Hessian h = Hessian.of(g, k, 0.01, false);
    float[] u = h.inverseCholesky();
    double mean = 0;
    for (int i = 0; i < k; i++) {
      mean += g[i * k + i] / k;
    }
    // (UᵀU)·(H + λI) = I
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < k; j++) {
        double s = 0;
        for (int t = 0; t < k; t++) {
          double inv = 0;
          for (int p = 0; p <= Math.min(i, t); p++) {
            inv += (double) u[p * k + i] * u[p * k + t];
          }
          s += inv * (g[t * k + j] + (t == j ? 0.01 * mean : 0));
        }
        assertEquals(i == j ? 1 : 0, s, 1e-3, "(" + i + "," + j + ")");
      }
      for (int j = 0; j < i; j++) {
        assertEquals(0f, u[i * k + j]);
      }
    }
  }

  @Test
  void int8_rtn_isSymmetricPerChannel() {
    // columns (output channels): [1, -2, 0.5] and [-0.5, 0.25, 0]
    Tensor w = Tensor.of(new float[] {1f, -0.5f, -2f, 0.25f, 0.5f, 0f}, 3, 2);
    QuantizedMatrix q = new MatrixQuantizer(new QuantGrid(8, 3, true), POOL).rtn(w, 1f);
    assertArrayEquals(new float[] {2f / 127, 0.5f / 127}, q.scales(), 1e-9f);
    assertEquals(-127, q.code(1, 0));
    assertEquals(64, q.code(0, 0)); // 63.5 rounds half to even
    assertEquals(-127, q.code(0, 1));
    assertEquals(0, q.code(2, 1));
  }

  @Test
  void int4_rtn_partialLastBlockIsPaddedWithTheZeroPoint() {
    Random r = new Random(5);
    Tensor w = weights(40, 3, r);
    QuantizedMatrix q = new MatrixQuantizer(new QuantGrid(4, 32, false), POOL).rtn(w, 1f);
    assertEquals(2, q.blocks);
    Tensor back = q.toDense();
    for (int i = 0; i < w.size(); i++) {
      assertEquals(w.data()[i], back.data()[i], 0.6f * 0.05f * 4 * 2 / 15, "element " + i);
    }
    for (int n = 0; n < 3; n++) {
      for (int k = 40; k < 64; k++) {
        assertEquals(0f, q.value(k, n));
      }
    }
  }
}
