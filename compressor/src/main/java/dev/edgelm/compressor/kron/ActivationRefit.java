package dev.edgelm.compressor.kron;

import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.LinearSolverFactory_DDRM;
import org.ejml.interfaces.linsol.LinearSolverDense;

/**
 * Refines Kronecker factors against calibration activations: minimises
 * {@code ‖X W − X Ŵ‖²_F = tr((W − Ŵ)ᵀ H (W − Ŵ))} with {@code H = XᵀX} (the Gram matrix of the
 * layer's inputs), instead of the weight-space {@code ‖W − Ŵ‖²}, by alternating least squares.
 * The permutations stay as the weight-space search left them.
 *
 * <p>The objective is quadratic in the A's for fixed B's and vice versa, and it separates:
 * <ul>
 *   <li><b>A-step.</b> Column block j1 of Ŵ depends only on the unknowns {@code α = (A_r[:, j1])_r}
 *       (R·m1 of them), through {@code Ŵ[:, (j1, j2)] = Σ_r (I ⊗ B_r[:, j2]) A_r[:, j1]}. All n1
 *       blocks share one normal matrix {@code G[(r,i1),(s,i1')] = Σ_{i2,i2'} (B_r B_sᵀ)[i2,i2'] H[(i1,i2),(i1',i2')]}
 *       and differ only in the right-hand side {@code Σ_{j2,i2} B_r[i2, j2] C[(i1,i2),(j1,j2)]}
 *       with {@code C = H W}: one Cholesky factorisation, n1 solves.
 *   <li><b>B-step.</b> Symmetrically, column j2 of every block depends on {@code (B_r[:, j2])_r}
 *       (R·m2 unknowns), with {@code G[(r,i2),(s,i2')] = Σ_{i1,i1'} (A_r A_sᵀ)[i1,i1'] H[(i1,i2),(i1',i2')]}
 *       and right-hand side {@code Σ_{i1,j1} A_r[i1, j1] C[(i1,i2),(j1,j2)]}.
 * </ul>
 * Each step is an exact minimisation (up to a small ridge that keeps G positive definite), so the
 * objective never rises; a step that would raise it (round-off) is discarded and the loop stops.
 *
 * <p>Everything runs in the factors' row and column order (H's rows and columns permuted by
 * {@code rowPos}, W by both permutations).
 */
final class ActivationRefit {
  /**
   * @param errorBefore relative output error {@code ‖X(W − Ŵ)‖ / ‖XW‖} of the initial factors
   * @param errorAfter the same for the refit factors
   */
  record Result(KronFactors factors, double errorBefore, double errorAfter, int iterations) {}

  private ActivationRefit() {}

  /**
   * @param w the layer's weight [in, out]
   * @param initial factors to start from (the weight-space fit)
   * @param h the Gram matrix of the layer's inputs [in, in], in the layer's own input order
   * @param damping ridge as a fraction of the mean diagonal of each normal matrix
   */
  static Result refit(float[] w, KronFactors initial, int[] rowPos, int[] colPos, double[] h, int iterations,
      double damping, Workers workers) {
    KronShape s = initial.shape();
    int m = s.in();
    int n = s.out();
    if (h.length != (long) m * m) {
      throw new IllegalArgumentException("Gram matrix has " + h.length + " entries, layer has " + m + " inputs");
    }
    float[] wk = Matrices.scatter(w, m, n, rowPos, colPos);
    double[] hk = permuteSymmetric(h, m, rowPos);
    float[] hf = new float[hk.length];
    for (int i = 0; i < hk.length; i++) {
      hf[i] = (float) hk[i];
    }
    float[] c = Matrices.multiply(hf, m, m, wk, n, workers);
    double reference = frobeniusDot(wk, c);
    KronFactors current = initial;
    double objective = objective(current, hf, c, reference, workers);
    double before = objective;
    int done = 0;
    for (int it = 0; it < iterations; it++) {
      KronFactors next = solveB(solveA(current, hk, c, damping), hk, c, damping, workers);
      double value = objective(next, hf, c, reference, workers);
      done++;
      if (!(value < objective)) {
        break;
      }
      boolean converged = value > objective * (1 - 1e-4);
      current = next;
      objective = value;
      if (converged) {
        break;
      }
    }
    return new Result(current, relative(before, reference), relative(objective, reference), done);
  }

  /** {@code ‖X(W − Ŵ)‖ / ‖XW‖} of {@code f} for inputs with Gram {@code h} (in the layer's own input order). */
  static double outputError(float[] w, KronFactors f, int[] rowPos, int[] colPos, double[] h, Workers workers) {
    int m = f.shape().in();
    int n = f.shape().out();
    float[] wk = Matrices.scatter(w, m, n, rowPos, colPos);
    double[] hk = permuteSymmetric(h, m, rowPos);
    float[] hf = new float[hk.length];
    for (int i = 0; i < hk.length; i++) {
      hf[i] = (float) hk[i];
    }
    float[] c = Matrices.multiply(hf, m, m, wk, n, workers);
    double reference = frobeniusDot(wk, c);
    return relative(objective(f, hf, c, reference, workers), reference);
  }

  private static double relative(double objective, double reference) {
    return reference > 0 ? Math.sqrt(Math.max(0, objective) / reference) : 0;
  }

  /** {@code ‖X(W − K)‖² = tr(KᵀHK) − 2 tr(KᵀC) + tr(WᵀHW)}. */
  static double objective(KronFactors f, float[] h, float[] c, double reference, Workers workers) {
    KronShape s = f.shape();
    float[] k = f.dense();
    float[] hk = Matrices.multiply(h, s.in(), s.in(), k, s.out(), workers);
    return frobeniusDot(k, hk) - 2 * frobeniusDot(k, c) + reference;
  }

  private static double frobeniusDot(float[] a, float[] b) {
    double s = 0;
    for (int i = 0; i < a.length; i++) {
      s += (double) a[i] * b[i];
    }
    return s;
  }

  /** {@code out[p[i], p[j]] = h[i, j]}. */
  static double[] permuteSymmetric(double[] h, int m, int[] p) {
    if (p == null) {
      return h;
    }
    double[] out = new double[h.length];
    for (int i = 0; i < m; i++) {
      int pi = p[i] * m;
      for (int j = 0; j < m; j++) {
        out[pi + p[j]] = h[i * m + j];
      }
    }
    return out;
  }

  /** New A's for fixed B's. */
  static KronFactors solveA(KronFactors f, double[] h, float[] c, double damping) {
    KronShape s = f.shape();
    int r = s.rank();
    int m1 = s.m1();
    int m2 = s.m2();
    int n1 = s.n1();
    int n2 = s.n2();
    int m = s.in();
    int n = s.out();
    float[] b = f.b();
    int size = r * m1;
    double[] g = new double[size * size];
    for (int p = 0; p < r; p++) {
      for (int q = p; q < r; q++) {
        double[] bb = new double[m2 * m2]; // B_p B_qᵀ
        for (int i2 = 0; i2 < m2; i2++) {
          for (int k2 = 0; k2 < m2; k2++) {
            double sum = 0;
            for (int j2 = 0; j2 < n2; j2++) {
              sum += (double) b[(p * m2 + i2) * n2 + j2] * b[(q * m2 + k2) * n2 + j2];
            }
            bb[i2 * m2 + k2] = sum;
          }
        }
        for (int i1 = 0; i1 < m1; i1++) {
          for (int k1 = 0; k1 < m1; k1++) {
            double sum = 0;
            for (int i2 = 0; i2 < m2; i2++) {
              int hRow = (i1 * m2 + i2) * m + k1 * m2;
              for (int k2 = 0; k2 < m2; k2++) {
                sum += bb[i2 * m2 + k2] * h[hRow + k2];
              }
            }
            g[(p * m1 + i1) * size + q * m1 + k1] = sum;
            g[(q * m1 + k1) * size + p * m1 + i1] = sum;
          }
        }
      }
    }
    double[] rhs = new double[size * n1];
    for (int p = 0; p < r; p++) {
      for (int i1 = 0; i1 < m1; i1++) {
        int row = (p * m1 + i1) * n1;
        for (int i2 = 0; i2 < m2; i2++) {
          int cRow = (i1 * m2 + i2) * n;
          int bRow = (p * m2 + i2) * n2;
          for (int j1 = 0; j1 < n1; j1++) {
            double sum = 0;
            for (int j2 = 0; j2 < n2; j2++) {
              sum += (double) b[bRow + j2] * c[cRow + j1 * n2 + j2];
            }
            rhs[row + j1] += sum;
          }
        }
      }
    }
    double[] x = solveSpd(g, size, rhs, n1, damping);
    float[] a = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      a[i] = (float) x[i];
    }
    return new KronFactors(s, a, f.b());
  }

  /** New B's for fixed A's. */
  static KronFactors solveB(KronFactors f, double[] h, float[] c, double damping, Workers workers) {
    KronShape s = f.shape();
    int r = s.rank();
    int m1 = s.m1();
    int m2 = s.m2();
    int n1 = s.n1();
    int n2 = s.n2();
    int m = s.in();
    int n = s.out();
    float[] a = f.a();
    int size = r * m2;
    double[] g = new double[size * size];
    for (int p = 0; p < r; p++) {
      float[] ap = new float[m1 * n1];
      System.arraycopy(a, p * m1 * n1, ap, 0, ap.length);
      for (int q = p; q < r; q++) {
        float[] aq = new float[m1 * n1];
        System.arraycopy(a, q * m1 * n1, aq, 0, aq.length);
        float[] aa = Matrices.multiplyTransposed(ap, m1, n1, aq, m1, workers); // A_p A_qᵀ [m1, m1]
        for (int i2 = 0; i2 < m2; i2++) {
          for (int k2 = 0; k2 < m2; k2++) {
            double sum = 0;
            for (int i1 = 0; i1 < m1; i1++) {
              int hRow = (i1 * m2 + i2) * m + k2;
              int aRow = i1 * m1;
              for (int k1 = 0; k1 < m1; k1++) {
                sum += aa[aRow + k1] * h[hRow + k1 * m2];
              }
            }
            g[(p * m2 + i2) * size + q * m2 + k2] = sum;
            g[(q * m2 + k2) * size + p * m2 + i2] = sum;
          }
        }
      }
    }
    double[] rhs = new double[size * n2];
    for (int p = 0; p < r; p++) {
      for (int i1 = 0; i1 < m1; i1++) {
        int aRow = (p * m1 + i1) * n1;
        for (int i2 = 0; i2 < m2; i2++) {
          int cRow = (i1 * m2 + i2) * n;
          int row = (p * m2 + i2) * n2;
          for (int j1 = 0; j1 < n1; j1++) {
            double av = a[aRow + j1];
            int cBase = cRow + j1 * n2;
            for (int j2 = 0; j2 < n2; j2++) {
              rhs[row + j2] += av * c[cBase + j2];
            }
          }
        }
      }
    }
    double[] x = solveSpd(g, size, rhs, n2, damping);
    float[] b = new float[x.length];
    for (int i = 0; i < x.length; i++) {
      b[i] = (float) x[i];
    }
    return new KronFactors(s, f.a(), b);
  }

  /** Solves {@code (G + λI) X = RHS} for symmetric positive semi-definite G, raising λ until Cholesky succeeds. */
  static double[] solveSpd(double[] g, int size, double[] rhs, int columns, double damping) {
    double mean = 0;
    for (int i = 0; i < size; i++) {
      mean += g[i * size + i];
    }
    mean = mean / size;
    if (!(mean > 0)) {
      return new double[size * columns];
    }
    double lambda = damping * mean;
    for (int attempt = 0; attempt < 8; attempt++) {
      DMatrixRMaj a = DMatrixRMaj.wrap(size, size, g.clone());
      for (int i = 0; i < size; i++) {
        a.data[i * size + i] += lambda;
      }
      LinearSolverDense<DMatrixRMaj> solver = LinearSolverFactory_DDRM.chol(size);
      if (solver.setA(a)) {
        DMatrixRMaj x = new DMatrixRMaj(size, columns);
        solver.solve(DMatrixRMaj.wrap(size, columns, rhs.clone()), x);
        if (allFinite(x.data)) {
          return x.data;
        }
      }
      lambda = Math.max(lambda * 10, 1e-12 * mean);
    }
    throw new IllegalStateException("normal equations of size " + size + " could not be solved");
  }

  private static boolean allFinite(double[] x) {
    for (double v : x) {
      if (!Double.isFinite(v)) {
        return false;
      }
    }
    return true;
  }
}
