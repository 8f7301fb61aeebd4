package dev.edgelm.compressor.kron;

/**
 * Dense row-major float kernels the factorisation needs: a blocked GEMM whose inner loop is an
 * axpy over contiguous rows (which the JIT vectorises), transposes and row/column permutations.
 * Matrices are {@code float[]} with their dimensions passed alongside.
 */
final class Matrices {
  private static final int K_BLOCK = 128;
  private static final int N_BLOCK = 512;

  private Matrices() {}

  /** {@code a [m×k] · b [k×n]} as a new [m×n] matrix. */
  static float[] multiply(float[] a, int m, int k, float[] b, int n, Workers workers) {
    float[] c = new float[Math.multiplyExact(m, n)];
    workers.forRange(m, (from, to) -> multiplyRows(a, k, b, n, c, from, to));
    return c;
  }

  /** {@code a [m×k] · bᵀ} for b [n×k], as a new [m×n] matrix. */
  static float[] multiplyTransposed(float[] a, int m, int k, float[] b, int n, Workers workers) {
    return multiply(a, m, k, transpose(b, n, k), n, workers);
  }

  /** {@code aᵀ · b} for a [k×m] and b [k×n], as a new [m×n] matrix. */
  static float[] transposedMultiply(float[] a, int k, int m, float[] b, int n, Workers workers) {
    return multiply(transpose(a, k, m), m, k, b, n, workers);
  }

  private static void multiplyRows(float[] a, int k, float[] b, int n, float[] c, int from, int to) {
    for (int j0 = 0; j0 < n; j0 += N_BLOCK) {
      int j1 = Math.min(n, j0 + N_BLOCK);
      for (int p0 = 0; p0 < k; p0 += K_BLOCK) {
        int p1 = Math.min(k, p0 + K_BLOCK);
        int i = from;
        // Four rows at a time: each row of b loaded once serves four rows of c.
        for (; i + 3 < to; i += 4) {
          int c0 = i * n;
          int c1 = c0 + n;
          int c2 = c1 + n;
          int c3 = c2 + n;
          for (int p = p0; p < p1; p++) {
            float a0 = a[i * k + p];
            float a1 = a[(i + 1) * k + p];
            float a2 = a[(i + 2) * k + p];
            float a3 = a[(i + 3) * k + p];
            int bp = p * n;
            for (int j = j0; j < j1; j++) {
              float bv = b[bp + j];
              c[c0 + j] += a0 * bv;
              c[c1 + j] += a1 * bv;
              c[c2 + j] += a2 * bv;
              c[c3 + j] += a3 * bv;
            }
          }
        }
        for (; i < to; i++) {
          int ci = i * n;
          for (int p = p0; p < p1; p++) {
            float av = a[i * k + p];
            int bp = p * n;
            for (int j = j0; j < j1; j++) {
              c[ci + j] += av * b[bp + j];
            }
          }
        }
      }
    }
  }

  /** The transpose of {@code a [r×c]}, as a new [c×r] matrix. */
  static float[] transpose(float[] a, int r, int c) {
    return dev.edgelm.compressor.ir.Tensor.transpose(a, r, c);
  }

  /**
   * {@code out[rowPos[i], colPos[j]] = w[i, j]}: moves W's rows and columns to the positions the
   * factors use. A null position array means the identity.
   */
  static float[] scatter(float[] w, int m, int n, int[] rowPos, int[] colPos) {
    if (rowPos == null && colPos == null) {
      return w.clone();
    }
    float[] out = new float[w.length];
    for (int i = 0; i < m; i++) {
      int dst = (rowPos == null ? i : rowPos[i]) * n;
      int src = i * n;
      if (colPos == null) {
        System.arraycopy(w, src, out, dst, n);
      } else {
        for (int j = 0; j < n; j++) {
          out[dst + colPos[j]] = w[src + j];
        }
      }
    }
    return out;
  }

  /** {@code out[i, j] = k[rowPos[i], colPos[j]]}: the inverse of {@link #scatter}. */
  static float[] gather(float[] k, int m, int n, int[] rowPos, int[] colPos) {
    if (rowPos == null && colPos == null) {
      return k.clone();
    }
    float[] out = new float[k.length];
    for (int i = 0; i < m; i++) {
      int src = (rowPos == null ? i : rowPos[i]) * n;
      int dst = i * n;
      if (colPos == null) {
        System.arraycopy(k, src, out, dst, n);
      } else {
        for (int j = 0; j < n; j++) {
          out[dst + j] = k[src + colPos[j]];
        }
      }
    }
    return out;
  }

  /** Σ x² in double. */
  static double squaredNorm(float[] x) {
    double s = 0;
    for (float v : x) {
      s += (double) v * v;
    }
    return s;
  }

  /** Σ (a − b)² in double. */
  static double squaredDistance(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      double d = (double) a[i] - b[i];
      s += d * d;
    }
    return s;
  }

  /** The inverse of a permutation: {@code inv[p[i]] = i}. */
  static int[] inverse(int[] p) {
    int[] inv = new int[p.length];
    for (int i = 0; i < p.length; i++) {
      inv[p[i]] = i;
    }
    return inv;
  }

  static boolean isIdentity(int[] p) {
    if (p == null) {
      return true;
    }
    for (int i = 0; i < p.length; i++) {
      if (p[i] != i) {
        return false;
      }
    }
    return true;
  }

  /** Checks that {@code p} is a permutation of [0, n). */
  static void checkPermutation(int[] p, int n, String what) {
    if (p == null) {
      return;
    }
    if (p.length != n) {
      throw new IllegalArgumentException(what + " has " + p.length + " entries, expected " + n);
    }
    boolean[] seen = new boolean[n];
    for (int v : p) {
      if (v < 0 || v >= n || seen[v]) {
        throw new IllegalArgumentException(what + " is not a permutation of 0.." + (n - 1));
      }
      seen[v] = true;
    }
  }
}
