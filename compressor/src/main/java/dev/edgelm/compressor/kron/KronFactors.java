package dev.edgelm.compressor.kron;

/**
 * The factors of {@code K = Σ_r A_r ⊗ B_r}, without permutations: {@code a} holds A_0..A_{R-1}
 * stacked vertically ([R·m1, n1], row-major) and {@code b} holds B_0..B_{R-1} stacked vertically
 * ([R·m2, n2]). Element {@code K[i1·m2 + i2, j1·n2 + j2] = Σ_r A_r[i1, j1] · B_r[i2, j2]}.
 *
 * <p>Immutable by convention: the arrays are not copied; nobody writes to them once built.
 */
record KronFactors(KronShape shape, float[] a, float[] b) {
  KronFactors {
    int r = shape.rank();
    if (a.length != (long) r * shape.m1() * shape.n1() || b.length != (long) r * shape.m2() * shape.n2()) {
      throw new IllegalArgumentException("factor arrays of " + a.length + " and " + b.length + " values do not fit " + shape);
    }
  }

  /** A_r side by side: [m1, R·n1]. The same array when the rank is 1. */
  float[] aSideBySide() {
    return sideBySide(a, shape.rank(), shape.m1(), shape.n1());
  }

  /** B_r side by side: [m2, R·n2]. The same array when the rank is 1. */
  float[] bSideBySide() {
    return sideBySide(b, shape.rank(), shape.m2(), shape.n2());
  }

  /** Converts R stacked [rows, cols] blocks into [rows, R·cols]. */
  static float[] sideBySide(float[] stacked, int rank, int rows, int cols) {
    if (rank == 1) {
      return stacked;
    }
    float[] out = new float[stacked.length];
    int width = rank * cols;
    for (int r = 0; r < rank; r++) {
      for (int i = 0; i < rows; i++) {
        System.arraycopy(stacked, (r * rows + i) * cols, out, i * width + r * cols, cols);
      }
    }
    return out;
  }

  /** Converts [rows, R·cols] (R blocks side by side) back into R stacked [rows, cols] blocks. */
  static float[] stackedFromSideBySide(float[] sideBySide, int rank, int rows, int cols) {
    if (rank == 1) {
      return sideBySide;
    }
    float[] out = new float[sideBySide.length];
    int width = rank * cols;
    for (int r = 0; r < rank; r++) {
      for (int i = 0; i < rows; i++) {
        System.arraycopy(sideBySide, i * width + r * cols, out, (r * rows + i) * cols, cols);
      }
    }
    return out;
  }

  /** The dense {@code K} [m1·m2, n1·n2]. */
  float[] dense() {
    KronShape s = shape;
    int m2 = s.m2();
    int n1 = s.n1();
    int n2 = s.n2();
    int n = s.out();
    float[] k = new float[Math.multiplyExact(s.in(), n)];
    for (int r = 0; r < s.rank(); r++) {
      int aBase = r * s.m1() * n1;
      int bBase = r * m2 * n2;
      for (int i1 = 0; i1 < s.m1(); i1++) {
        for (int i2 = 0; i2 < m2; i2++) {
          int row = (i1 * m2 + i2) * n;
          int bRow = bBase + i2 * n2;
          for (int j1 = 0; j1 < n1; j1++) {
            float av = a[aBase + i1 * n1 + j1];
            int col = row + j1 * n2;
            for (int j2 = 0; j2 < n2; j2++) {
              k[col + j2] += av * b[bRow + j2];
            }
          }
        }
      }
    }
    return k;
  }

  /** The factors of {@code Kᵀ = Σ A_rᵀ ⊗ B_rᵀ}. */
  KronFactors transpose() {
    KronShape s = shape;
    return new KronFactors(s.transpose(), transposeBlocks(a, s.rank(), s.m1(), s.n1()), transposeBlocks(b, s.rank(), s.m2(), s.n2()));
  }

  private static float[] transposeBlocks(float[] stacked, int rank, int rows, int cols) {
    float[] out = new float[stacked.length];
    int size = rows * cols;
    for (int r = 0; r < rank; r++) {
      float[] block = new float[size];
      System.arraycopy(stacked, r * size, block, 0, size);
      System.arraycopy(Matrices.transpose(block, rows, cols), 0, out, r * size, size);
    }
    return out;
  }
}
