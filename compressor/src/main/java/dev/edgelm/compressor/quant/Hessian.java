package dev.edgelm.compressor.quant;

import java.util.Arrays;
import java.util.Comparator;
import java.util.stream.IntStream;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.CholeskyDecomposition_F64;

/**
 * What GPTQ needs from a layer's Hessian H = XᵀX (X: the layer's calibration inputs): the order in
 * which to visit inputs, which inputs are dead (never non-zero), and U, the upper Cholesky factor
 * of the damped inverse, H⁻¹ = UᵀU.
 *
 * <p>U is computed without forming H⁻¹: with P the reversal permutation and L the lower Cholesky
 * factor of P·H·P, H⁻¹ = (P·L⁻¹·P)ᵀ(P·L⁻¹·P) and P·L⁻¹·P is upper triangular. That is one Cholesky
 * (EJML's blocked decomposition) and one triangular inverse (row-oriented AXPYs here), about
 * K³/3 + K³/6 multiply-adds instead of the three K³-size steps of inverting and re-factoring.
 *
 * <p>Dead inputs get H[i][i] = 1 (their weights are zeroed by the caller), then λ = damping ×
 * mean(diag H) is added to the diagonal; if the matrix is still not positive definite, λ grows
 * tenfold until it is.
 */
final class Hessian {
  private final int size;
  private final int[] order;
  private final boolean[] dead;
  private final boolean actOrder;
  private final float[] u;

  private Hessian(int size, int[] order, boolean[] dead, boolean actOrder, float[] u) {
    this.size = size;
    this.order = order;
    this.dead = dead;
    this.actOrder = actOrder;
    this.u = u;
  }

  /**
   * @param gram XᵀX, [K, K] row-major (not modified)
   * @param damping fraction of the mean diagonal added to the diagonal (GPTQ uses 0.01)
   * @param actOrder visit inputs by decreasing H[i][i] instead of in order
   */
  static Hessian of(double[] gram, int k, double damping, boolean actOrder) {
    if (gram.length != k * k) {
      throw new IllegalArgumentException("Gram matrix of " + gram.length + " entries for " + k + " inputs");
    }
    double[] diag = new double[k];
    boolean[] dead = new boolean[k];
    double mean = 0;
    for (int i = 0; i < k; i++) {
      diag[i] = gram[i * k + i];
      if (diag[i] == 0) {
        dead[i] = true;
        diag[i] = 1;
      }
      mean += diag[i];
    }
    mean /= k;
    int[] order = actOrder
        ? IntStream.range(0, k).boxed().sorted(Comparator.comparingDouble((Integer i) -> -diag[i])).mapToInt(Integer::intValue).toArray()
        : IntStream.range(0, k).toArray();
    double lambda = damping * mean;
    for (int attempt = 0; attempt < 8; attempt++, lambda *= 10) {
      DMatrixRMaj reversed = new DMatrixRMaj(k, k);
      double[] r = reversed.data;
      for (int i = 0; i < k; i++) {
        int oi = order[k - 1 - i];
        for (int j = 0; j < k; j++) {
          int oj = order[k - 1 - j];
          r[i * k + j] = oi == oj ? diag[oi] + lambda : (dead[oi] || dead[oj] ? 0 : gram[oi * k + oj]);
        }
      }
      CholeskyDecomposition_F64<DMatrixRMaj> chol = DecompositionFactory_DDRM.chol(k, true);
      if (!chol.decompose(reversed)) {
        continue;
      }
      double[] linv = invertLower(chol.getT(null).data, k);
      float[] u = new float[k * k];
      for (int i = 0; i < k; i++) {
        for (int j = i; j < k; j++) {
          u[i * k + j] = (float) linv[(k - 1 - i) * k + (k - 1 - j)];
        }
      }
      return new Hessian(k, order, dead, actOrder, u);
    }
    throw new IllegalStateException("the calibration Hessian is not positive definite even with heavy damping");
  }

  /** Inverse of a lower-triangular [k, k] row-major matrix, row by row: row i of L⁻¹ is −(Σ_{j<i} L[i][j]·row j) / L[i][i]. */
  static double[] invertLower(double[] l, int k) {
    double[] x = new double[k * k];
    double[] acc = new double[k];
    for (int i = 0; i < k; i++) {
      Arrays.fill(acc, 0, i + 1, 0.0);
      for (int j = 0; j < i; j++) {
        double f = l[i * k + j];
        if (f != 0) {
          int row = j * k;
          for (int t = 0; t <= j; t++) {
            acc[t] += f * x[row + t];
          }
        }
      }
      double d = l[i * k + i];
      int row = i * k;
      for (int t = 0; t < i; t++) {
        x[row + t] = -acc[t] / d;
      }
      x[row + i] = 1.0 / d;
    }
    return x;
  }

  int size() {
    return size;
  }

  /** Visiting order: position i quantizes input {@code order()[i]}. */
  int[] order() {
    return order;
  }

  boolean dead(int input) {
    return dead[input];
  }

  boolean actOrder() {
    return actOrder;
  }

  /** U in visiting order, [K, K] row-major, upper triangular. */
  float[] inverseCholesky() {
    return u;
  }
}
