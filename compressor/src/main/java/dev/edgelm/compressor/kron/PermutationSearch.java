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
 * <p>Two starts, the better one kept. The identity is often a fixed point of the alternation: the
 * plain fit matches W's own order so well that no single assignment step leaves it. The second
 * start gives each slot of the small factor a band of norms — the {@code m1} largest rows to
 * {@code i2 = 0}, the next {@code m1} to {@code i2 = 1}, … (columns likewise) — so that B's entries
 * carry the magnitudes and A the directions; on gpt2-fixture it is the start that wins almost
 * everywhere.
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
    NearestKronecker.Fit plain = NearestKronecker.fit(w, shape, workers);
    boolean rows = shape.m2() > 1 && m <= maxSide;
    boolean cols = shape.n2() > 1 && n <= maxSide;
    if (iterations == 0 || !(rows || cols)) {
      return new Result(plain.factors(), null, null, norm, Math.sqrt(plain.squaredError()), Math.sqrt(plain.squaredError()), 0);
    }
    Result best = alternate(w, shape, plain, null, null, rows, cols, iterations, workers);
    int[] r0 = rows ? sortedByNorm(rowNorms(w, m, n), shape.m1(), shape.m2()) : null;
    int[] c0 = cols ? sortedByNorm(columnNorms(w, m, n), shape.n1(), shape.n2()) : null;
    NearestKronecker.Fit start = NearestKronecker.fit(Matrices.scatter(w, m, n, r0, c0), shape, workers);
    Result banded = alternate(w, shape, start, r0, c0, rows, cols, iterations, workers);
    if (banded.errorWith() < best.errorWith()) {
      best = banded;
    }
    double with = best.errorWith();
    if (with >= Math.sqrt(plain.squaredError())) {
      return new Result(plain.factors(), null, null, norm, Math.sqrt(plain.squaredError()), Math.sqrt(plain.squaredError()),
          best.iterations());
    }
    return new Result(best.factors(), best.rowPos(), best.colPos(), norm, Math.sqrt(plain.squaredError()), with,
        best.iterations());
  }

  private static Result alternate(float[] w, KronShape shape, NearestKronecker.Fit fit, int[] rowPos, int[] colPos,
      boolean rows, boolean cols, int iterations, Workers workers) {
    int m = shape.in();
    int n = shape.out();
    int done = 0;
    for (int it = 0; it < iterations; it++) {
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
        0, 0, Math.sqrt(fit.squaredError()), done);
  }

  /**
   * Positions that give each slot {@code i2} of the small factor the rows of one band of norms: the
   * {@code outer} largest rows to slot 0, the next to slot 1, … (and within a band, by rank).
   */
  static int[] sortedByNorm(double[] norms, int outer, int inner) {
    Integer[] order = new Integer[norms.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(norms[b], norms[a]));
    int[] pos = new int[norms.length];
    for (int q = 0; q < order.length; q++) {
      pos[order[q]] = (q % outer) * inner + q / outer;
    }
    return pos;
  }

  private static double[] rowNorms(float[] w, int m, int n) {
    double[] out = new double[m];
    for (int i = 0; i < m; i++) {
      double s = 0;
      for (int j = 0; j < n; j++) {
        s += (double) w[i * n + j] * w[i * n + j];
      }
      out[i] = s;
    }
    return out;
  }

  private static double[] columnNorms(float[] w, int m, int n) {
    double[] out = new double[n];
    for (int i = 0; i < m; i++) {
      for (int j = 0; j < n; j++) {
        out[j] += (double) w[i * n + j] * w[i * n + j];
      }
    }
    return out;
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
