package dev.edgelm.compressor.prune;

/** Solves {@code A X = B} for a symmetric positive definite A by Cholesky factorisation. */
final class Cholesky {
  private Cholesky() {}

  /**
   * @param a [s, s] row-major, symmetric positive definite (overwritten)
   * @param b [s, m] row-major right-hand sides
   * @return X, [s, m]
   * @throws IllegalArgumentException when A is not positive definite
   */
  static double[] solve(double[] a, double[] b, int s, int m) {
    for (int j = 0; j < s; j++) {
      double d = a[j * s + j];
      for (int k = 0; k < j; k++) {
        d -= a[j * s + k] * a[j * s + k];
      }
      if (!(d > 0)) {
        throw new IllegalArgumentException("matrix is not positive definite at row " + j);
      }
      d = Math.sqrt(d);
      a[j * s + j] = d;
      for (int i = j + 1; i < s; i++) {
        double v = a[i * s + j];
        for (int k = 0; k < j; k++) {
          v -= a[i * s + k] * a[j * s + k];
        }
        a[i * s + j] = v / d;
      }
    }
    double[] x = b.clone();
    for (int c = 0; c < m; c++) {
      for (int i = 0; i < s; i++) { // L y = b
        double v = x[i * m + c];
        for (int k = 0; k < i; k++) {
          v -= a[i * s + k] * x[k * m + c];
        }
        x[i * m + c] = v / a[i * s + i];
      }
      for (int i = s - 1; i >= 0; i--) { // Lᵀ x = y
        double v = x[i * m + c];
        for (int k = i + 1; k < s; k++) {
          v -= a[k * s + i] * x[k * m + c];
        }
        x[i * m + c] = v / a[i * s + i];
      }
    }
    return x;
  }
}
