package dev.edgelm.compressor.kron;

/**
 * Searches the row and column permutations of {@code W ≈ P (Σ A_r ⊗ B_r) Q} by alternation: with
 * the factors fixed, the best row permutation is a linear assignment (row i of W to row k of the
 * factored product, at cost {@code −⟨W_i, K_k⟩}: the squared norms are the same for every
 * assignment), and so is the best column permutation; with the permutations fixed, the best
 * factors are the Van Loan–Pitsianis fit. Each step can only lower {@code ‖W − Ŵ‖_F}, so the error
 * is monotone; a step that does not lower it (float noise) is discarded.
 *
 * <p>Permutations are kept as positions: W's row i is row {@code rowPos[i]} of the factored
 * product, W's column j is its column {@code colPos[j]}, so {@code Ŵ[i, j] = K[rowPos[i], colPos[j]]}.
 *
 * <p>A row search is skipped when {@code m2 = 1} (rows of A⊗B are then independent, any order fits
 * equally well) and a column search when {@code n2 = 1}; both when the side is larger than
 * {@code maxSide} (the assignment is O(n³) in the worst case).
 */
final class PermutationSearch {
  /** Outcome for one matrix. */
  record Result(KronFactors factors, int[] rowPos, int[] colPos, double norm, double errorWithout, double errorWith,
      int iterations) {}

  private PermutationSearch() {}

  /**
   * @param w the matrix [in, out], row-major
   * @param iterations alternation rounds (0: the plain fit, no permutations)
   * @param maxSide largest side searched
   */
  static Result search(float[] w, KronShape shape, int iterations, int maxSide, Workers workers) {
    int m = shape.in();
    int n = shape.out();
    double norm = Math.sqrt(Matrices.squaredNorm(w));
    NearestKronecker.Fit fit = NearestKronecker.fit(w, shape, workers);
    double without = fit.squaredError();
    int[] rowPos = null;
    int[] colPos = null;
    boolean rows = shape.m2() > 1 && m <= maxSide;
    boolean cols = shape.n2() > 1 && n <= maxSide;
    int done = 0;
    for (int it = 0; it < iterations && (rows || cols); it++) {
      double before = fit.squaredError();
      if (rows) {
        int[] candidate = searchRows(w, m, n, fit.factors(), colPos, workers);
        NearestKronecker.Fit refit = NearestKronecker.fit(Matrices.scatter(w, m, n, candidate, colPos), shape, workers);
        if (refit.squaredError() < fit.squaredError()) {
          fit = refit;
          rowPos = candidate;
        }
      }
      if (cols) {
        int[] candidate = searchColumns(w, m, n, fit.factors(), rowPos, workers);
        NearestKronecker.Fit refit = NearestKronecker.fit(Matrices.scatter(w, m, n, rowPos, candidate), shape, workers);
        if (refit.squaredError() < fit.squaredError()) {
          fit = refit;
          colPos = candidate;
        }
      }
      done++;
      if (fit.squaredError() > before * (1 - 1e-4)) {
        break;
      }
    }
    return new Result(fit.factors(), Matrices.isIdentity(rowPos) ? null : rowPos, Matrices.isIdentity(colPos) ? null : colPos,
        norm, Math.sqrt(without), Math.sqrt(fit.squaredError()), done);
  }

  /** The best {@code rowPos} for fixed factors and columns. */
  static int[] searchRows(float[] w, int m, int n, KronFactors factors, int[] colPos, Workers workers) {
    // W with its columns in the factors' order; similarity S = W_c · Kᵀ [m, m].
    float[] wc = Matrices.scatter(w, m, n, null, colPos);
    float[] s = Matrices.multiplyTransposed(wc, m, n, factors.dense(), m, workers);
    return LinearAssignment.solve(negate(s), m);
  }

  /** The best {@code colPos} for fixed factors and rows. */
  static int[] searchColumns(float[] w, int m, int n, KronFactors factors, int[] rowPos, Workers workers) {
    // W with its rows in the factors' order; similarity S = W_rᵀ · K [n, n].
    float[] wr = Matrices.scatter(w, m, n, rowPos, null);
    float[] s = Matrices.transposedMultiply(wr, m, n, factors.dense(), n, workers);
    return LinearAssignment.solve(negate(s), n);
  }

  private static double[] negate(float[] s) {
    double[] c = new double[s.length];
    for (int i = 0; i < s.length; i++) {
      c[i] = -s[i];
    }
    return c;
  }
}
