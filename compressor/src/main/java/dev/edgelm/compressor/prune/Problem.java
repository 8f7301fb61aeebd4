package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.calib.ActivationStats;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.Tensor;

/**
 * One consumer's least-squares problem: G = H̃ᵀH̃/N (H̃ = [H, 1], the consumer's input with a
 * constant column for the intercept) undamped and damped by {@link Pruner#DAMPING} of the mean
 * diagonal, and W̃ = [W; b] ({@code n} rows, the last the bias, zero when the consumer has none).
 */
record Problem(double[] gram, double[] damped, double[] target, int n, int m) {
  static Problem of(ActivationStats s, Linear consumer) {
    int f = s.width();
    int n = f + 1;
    double rows = s.rows();
    double[] g = new double[n * n];
    for (int i = 0; i < f; i++) {
      for (int j = 0; j < f; j++) {
        g[i * n + j] = s.gram()[i * f + j] / rows;
      }
      g[i * n + f] = s.columnSums()[i] / rows;
      g[f * n + i] = s.columnSums()[i] / rows;
    }
    g[f * n + f] = 1;
    double diag = 0;
    for (int i = 0; i < f; i++) {
      diag += g[i * n + i];
    }
    double damping = Pruner.DAMPING * diag / f;
    double[] damped = g.clone();
    for (int i = 0; i < n; i++) {
      damped[i * n + i] += damping;
    }
    Tensor w = consumer.weight().toDense();
    int m = w.cols();
    double[] t = new double[n * m];
    for (int i = 0; i < f * m; i++) {
      t[i] = w.data()[i];
    }
    if (consumer.bias() != null) {
      for (int j = 0; j < m; j++) {
        t[f * m + j] = consumer.bias().data()[j];
      }
    }
    return new Problem(g, damped, t, n, m);
  }

  /** Input features (rows of W without the intercept). */
  int features() {
    return n - 1;
  }

  /** E[h_c] per input feature. */
  double[] means() {
    double[] mean = new double[n - 1];
    for (int i = 0; i < n - 1; i++) {
      mean[i] = gram[i * n + n - 1];
    }
    return mean;
  }

  /** {@code ‖H̃(W̃ − X)‖ / ‖H̃W̃‖} on the calibration activations (undamped). */
  double relativeError(double[] x) {
    double base = GroupLasso.quadratic(gram, target, new double[n * m], n, m);
    return base == 0 ? 0 : Math.sqrt(GroupLasso.quadratic(gram, target, x, n, m) / base);
  }
}
