package dev.edgelm.compressor.kron;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The best sum of {@code R} Kronecker products in the Frobenius norm (Van Loan and Pitsianis, 1993).
 *
 * <p>The rearrangement {@code ℛ(W)} has one row per block (i1, j1) of W, holding that m2×n2 block
 * in row-major order; {@code ‖W − Σ A_r ⊗ B_r‖_F = ‖ℛ(W) − Σ vec(A_r) vec(B_r)ᵀ‖_F}, so the top
 * {@code R} singular triplets of ℛ(W) give the optimum. ℛ(W) is very tall and thin for the shapes
 * we use (294,912 × 8 for GPT-2's MLP), so the singular vectors come from the eigenvectors of the
 * small Gram matrix ℛᵀℛ (or ℛℛᵀ when ℛ is wide), and the squared error is
 * {@code ‖W‖² − Σ_{r<R} σ_r²}.
 *
 * <p>Factors are balanced: {@code ‖A_r‖_F = ‖B_r‖_F = √σ_r}.
 */
final class NearestKronecker {
  /** A fit: the factors and its squared Frobenius error. */
  record Fit(KronFactors factors, double squaredError) {}

  private NearestKronecker() {}

  /** Fits {@code k} [m1·m2, n1·n2] (already in the factors' row and column order). */
  static Fit fit(float[] k, KronShape shape, Workers workers) {
    int p = shape.m1() * shape.n1();
    int s = shape.m2() * shape.n2();
    int rank = Math.min(shape.rank(), Math.min(p, s));
    float[] rearranged = rearrange(k, shape);
    double total = Matrices.squaredNorm(k);
    float[] a = new float[shape.rank() * p];
    float[] b = new float[shape.rank() * s];
    double captured = 0;
    if (s <= p) {
      // Right singular vectors v_r from ℛᵀℛ (s × s); ℛ v_r = σ_r u_r.
      double[] gram = gram(Matrices.transpose(rearranged, p, s), s, p, workers);
      Eigen e = Eigen.of(gram, s);
      for (int r = 0; r < rank; r++) {
        double lambda = Math.max(0, e.value(r));
        captured += lambda;
        double sigma = Math.sqrt(lambda);
        if (sigma == 0) {
          continue;
        }
        double[] v = e.vector(r);
        double scale = Math.sqrt(sigma);
        for (int q = 0; q < s; q++) {
          b[r * s + q] = (float) (v[q] * scale);
        }
        for (int row = 0; row < p; row++) {
          double dot = 0;
          int base = row * s;
          for (int q = 0; q < s; q++) {
            dot += rearranged[base + q] * v[q];
          }
          a[r * p + row] = (float) (dot / scale);
        }
      }
    } else {
      // Left singular vectors u_r from ℛℛᵀ (p × p); ℛᵀ u_r = σ_r v_r.
      double[] gram = gram(rearranged, p, s, workers);
      Eigen e = Eigen.of(gram, p);
      for (int r = 0; r < rank; r++) {
        double lambda = Math.max(0, e.value(r));
        captured += lambda;
        double sigma = Math.sqrt(lambda);
        if (sigma == 0) {
          continue;
        }
        double[] u = e.vector(r);
        double scale = Math.sqrt(sigma);
        for (int row = 0; row < p; row++) {
          a[r * p + row] = (float) (u[row] * scale);
        }
        for (int q = 0; q < s; q++) {
          double dot = 0;
          for (int row = 0; row < p; row++) {
            dot += rearranged[row * s + q] * u[row];
          }
          b[r * s + q] = (float) (dot / scale);
        }
      }
    }
    return new Fit(new KronFactors(shape, a, b), Math.max(0, total - captured));
  }

  /** ℛ(W): row (i1·n1 + j1) holds block (i1, j1) of W, row-major, [m1·n1, m2·n2]. */
  static float[] rearrange(float[] k, KronShape shape) {
    int m1 = shape.m1();
    int n1 = shape.n1();
    int m2 = shape.m2();
    int n2 = shape.n2();
    int n = shape.out();
    int s = m2 * n2;
    float[] out = new float[k.length];
    for (int i1 = 0; i1 < m1; i1++) {
      for (int j1 = 0; j1 < n1; j1++) {
        int dst = (i1 * n1 + j1) * s;
        for (int i2 = 0; i2 < m2; i2++) {
          System.arraycopy(k, (i1 * m2 + i2) * n + j1 * n2, out, dst + i2 * n2, n2);
        }
      }
    }
    return out;
  }

  /** {@code x xᵀ} for x [rows, cols], in double, as [rows, rows]. */
  static double[] gram(float[] x, int rows, int cols, Workers workers) {
    double[] g = new double[rows * rows];
    workers.forRange(rows, (from, to) -> {
      for (int i = from; i < to; i++) {
        int bi = i * cols;
        for (int j = 0; j <= i; j++) {
          int bj = j * cols;
          double s0 = 0;
          double s1 = 0;
          int q = 0;
          for (; q + 1 < cols; q += 2) {
            s0 += (double) x[bi + q] * x[bj + q];
            s1 += (double) x[bi + q + 1] * x[bj + q + 1];
          }
          if (q < cols) {
            s0 += (double) x[bi + q] * x[bj + q];
          }
          g[i * rows + j] = s0 + s1;
        }
      }
    });
    for (int i = 0; i < rows; i++) {
      for (int j = 0; j < i; j++) {
        g[j * rows + i] = g[i * rows + j];
      }
    }
    return g;
  }

  /** Eigenpairs of a symmetric matrix, by decreasing eigenvalue. */
  static final class Eigen {
    private final double[] values;
    private final double[][] vectors;

    private Eigen(double[] values, double[][] vectors) {
      this.values = values;
      this.vectors = vectors;
    }

    static Eigen of(double[] symmetric, int n) {
      DMatrixRMaj m = DMatrixRMaj.wrap(n, n, symmetric.clone());
      EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(n, true, true);
      if (!eig.decompose(m)) {
        throw new IllegalStateException("eigen-decomposition of a " + n + "×" + n + " Gram matrix failed");
      }
      Integer[] order = new Integer[n];
      double[] raw = new double[n];
      for (int i = 0; i < n; i++) {
        order[i] = i;
        raw[i] = eig.getEigenvalue(i).getReal();
      }
      java.util.Arrays.sort(order, (x, y) -> Double.compare(raw[y], raw[x]));
      double[] values = new double[n];
      double[][] vectors = new double[n][];
      for (int i = 0; i < n; i++) {
        values[i] = raw[order[i]];
        vectors[i] = eig.getEigenVector(order[i]).getData().clone();
        normalise(vectors[i]);
      }
      return new Eigen(values, vectors);
    }

    private static void normalise(double[] v) {
      double s = 0;
      for (double x : v) {
        s += x * x;
      }
      s = Math.sqrt(s);
      if (s > 0) {
        for (int i = 0; i < v.length; i++) {
          v[i] /= s;
        }
      }
    }

    double value(int i) {
      return values[i];
    }

    double[] vector(int i) {
      return vectors[i];
    }
  }
}
