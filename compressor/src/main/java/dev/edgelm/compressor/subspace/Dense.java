package dev.edgelm.compressor.subspace;

import dev.edgelm.compressor.ir.Tensor;
import java.util.stream.IntStream;

/**
 * The dense arithmetic the fold and the projection need, on fp32 tensors laid out as the IR keeps
 * them (a linear weight is [in, out], {@code y = x·W}; a table is [rows, d]), accumulated in double.
 * The basis Q is d×K row-major in double.
 */
final class Dense {
  private Dense() {}

  /** diag(s)·W: row i of W scaled by s[i]. */
  static Tensor scaleRows(Tensor w, float[] s) {
    int r = w.rows();
    int c = w.cols();
    float[] a = w.data();
    float[] out = new float[a.length];
    for (int i = 0; i < r; i++) {
      double f = s[i];
      for (int j = 0; j < c; j++) {
        out[i * c + j] = (float) (a[i * c + j] * f);
      }
    }
    return Tensor.of(out, r, c);
  }

  /** v·W + b (b may be null): a bias that a shift v before the layer becomes. */
  static Tensor shiftBias(float[] v, Tensor w, Tensor b) {
    int r = w.rows();
    int c = w.cols();
    float[] a = w.data();
    double[] acc = new double[c];
    for (int i = 0; i < r; i++) {
      double vi = v[i];
      for (int j = 0; j < c; j++) {
        acc[j] += vi * a[i * c + j];
      }
    }
    float[] out = new float[c];
    for (int j = 0; j < c; j++) {
      out[j] = (float) (acc[j] + (b == null ? 0 : b.data()[j]));
    }
    return Tensor.of(out, c);
  }

  /** M·C for C = I − 11ᵀ/cols: every row minus its mean (a vector is one row). */
  static Tensor centreRows(Tensor m) {
    int c = m.dim(m.rank() - 1);
    int r = m.size() / c;
    float[] a = m.data();
    float[] out = new float[a.length];
    for (int i = 0; i < r; i++) {
      double mean = 0;
      for (int j = 0; j < c; j++) {
        mean += a[i * c + j];
      }
      mean /= c;
      for (int j = 0; j < c; j++) {
        out[i * c + j] = (float) (a[i * c + j] - mean);
      }
    }
    return Tensor.of(out, m.shape());
  }

  /** Each row's mean, [rows]. */
  static Tensor rowMeans(Tensor m) {
    int c = m.cols();
    float[] a = m.data();
    float[] out = new float[m.rows()];
    for (int i = 0; i < out.length; i++) {
      double s = 0;
      for (int j = 0; j < c; j++) {
        s += a[i * c + j];
      }
      out[i] = (float) (s / c);
    }
    return Tensor.of(out, out.length);
  }

  /** M·Q: [r, d] → [r, K] (a vector [d] → [K]). Rows in parallel. */
  static Tensor right(Tensor m, double[] q, int k) {
    int d = m.dim(m.rank() - 1);
    int r = m.size() / d;
    float[] a = m.data();
    float[] out = new float[r * k];
    IntStream.range(0, r).parallel().forEach(i -> {
      double[] acc = new double[k];
      for (int j = 0; j < d; j++) {
        double v = a[i * d + j];
        if (v != 0) {
          int base = j * k;
          for (int t = 0; t < k; t++) {
            acc[t] += v * q[base + t];
          }
        }
      }
      for (int t = 0; t < k; t++) {
        out[i * k + t] = (float) acc[t];
      }
    });
    return m.rank() == 1 ? Tensor.of(out, k) : Tensor.of(out, r, k);
  }

  /** factor·Qᵀ·W: [d, c] → [K, c]. */
  static Tensor left(double[] q, int k, Tensor w, double factor) {
    int d = w.rows();
    int c = w.cols();
    float[] a = w.data();
    float[] out = new float[k * c];
    IntStream.range(0, k).parallel().forEach(t -> {
      double[] acc = new double[c];
      for (int j = 0; j < d; j++) {
        double qt = q[j * k + t];
        int base = j * c;
        for (int s = 0; s < c; s++) {
          acc[s] += qt * a[base + s];
        }
      }
      for (int s = 0; s < c; s++) {
        out[t * c + s] = (float) (acc[s] * factor);
      }
    });
    return Tensor.of(out, k, c);
  }

  /** Q extended by one column and row that carries a last coordinate through unchanged: [(d+1), (K+1)]. */
  static double[] withPassThrough(double[] q, int d, int k) {
    double[] out = new double[(d + 1) * (k + 1)];
    for (int j = 0; j < d; j++) {
      System.arraycopy(q, j * k, out, j * (k + 1), k);
    }
    out[d * (k + 1) + k] = 1;
    return out;
  }
}
