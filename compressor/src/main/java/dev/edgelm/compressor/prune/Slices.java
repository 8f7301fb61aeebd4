package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.Tensor;

/** Cutting dense linear layers down to some of their columns, or to new rows from a refit. */
final class Slices {
  private Slices() {}

  /** {@code l} with only the output columns {@code cols} (and their bias entries). */
  static Linear columns(Linear l, int[] cols) {
    Tensor w = l.weight().toDense();
    int in = w.rows();
    int k = cols.length;
    float[] out = new float[in * k];
    for (int i = 0; i < in; i++) {
      for (int c = 0; c < k; c++) {
        out[i * k + c] = w.get(i, cols[c]);
      }
    }
    Tensor bias = null;
    if (l.bias() != null) {
      float[] bv = new float[k];
      for (int c = 0; c < k; c++) {
        bv[c] = l.bias().data()[cols[c]];
      }
      bias = Tensor.of(bv, k);
    }
    return Linear.dense(Tensor.of(out, in, k), bias);
  }

  /**
   * The consumer after a cut: its rows {@code rows} of W̃' ([n, m], the intercept last) and the
   * intercept as its bias (a consumer without one gains it: that is the bias compensation).
   */
  static Linear consumer(double[] w, int[] rows, int n, int m) {
    int k = rows.length;
    float[] out = new float[k * m];
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < m; j++) {
        out[i * m + j] = (float) w[rows[i] * m + j];
      }
    }
    float[] bias = new float[m];
    for (int j = 0; j < m; j++) {
      bias[j] = (float) w[(n - 1) * m + j];
    }
    return Linear.dense(Tensor.of(out, k, m), Tensor.of(bias, m));
  }

  /** Squared norm of the columns {@code from..to} of {@code l} (weights and bias). */
  static double columnEnergy(Linear l, int from, int to) {
    Tensor w = l.weight().toDense();
    double s = 0;
    for (int i = 0; i < w.rows(); i++) {
      for (int c = from; c < to; c++) {
        s += (double) w.get(i, c) * w.get(i, c);
      }
    }
    if (l.bias() != null) {
      for (int c = from; c < to; c++) {
        s += (double) l.bias().data()[c] * l.bias().data()[c];
      }
    }
    return s;
  }
}
