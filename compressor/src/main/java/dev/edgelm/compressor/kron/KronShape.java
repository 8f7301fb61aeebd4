package dev.edgelm.compressor.kron;

/**
 * The shape of a Kronecker-factored matrix {@code W ≈ Σ_{r<rank} A_r ⊗ B_r} with {@code A_r} of
 * {@code m1 × n1} and {@code B_r} of {@code m2 × n2}: W is {@code (m1·m2) × (n1·n2)}, i.e. [in, out].
 *
 * <p>Also the cost formula of the factored form (parameters, bytes, multiply-adds per token), which
 * the documentation, the report and the benchmark compare against measurement.
 */
public record KronShape(int m1, int n1, int m2, int n2, int rank) {
  /** Which factor a token's activation meets first; the two orders cost different multiply-adds. */
  public enum Order {
    /** Contract the input with A first (over m1), then with B (over rank·m2). */
    A_FIRST,
    /** Contract the input with B first (over m2), then with A (over rank·m1). */
    B_FIRST
  }

  public KronShape {
    if (m1 <= 0 || n1 <= 0 || m2 <= 0 || n2 <= 0 || rank <= 0) {
      throw new IllegalArgumentException("Kronecker shape dimensions and rank must be positive: " + describe(m1, n1, m2, n2, rank));
    }
  }

  /** Rows of W: input features. */
  public int in() {
    return m1 * m2;
  }

  /** Columns of W: output features. */
  public int out() {
    return n1 * n2;
  }

  /** Parameters the factors store: {@code rank·(m1·n1 + m2·n2)}. */
  public long parameterCount() {
    return (long) rank * ((long) m1 * n1 + (long) m2 * n2);
  }

  /** Parameters of the dense matrix it replaces: {@code in·out}. */
  public long denseParameterCount() {
    return (long) in() * out();
  }

  /** Multiply-adds per token (one input row) in {@code order}. */
  public long multiplyAdds(Order order) {
    return order == Order.A_FIRST
        ? (long) rank * m2 * n1 * ((long) m1 + n2)
        : (long) rank * m1 * n2 * ((long) m2 + n1);
  }

  /** The cheaper order (A-first on ties). */
  public Order cheaperOrder() {
    return multiplyAdds(Order.A_FIRST) <= multiplyAdds(Order.B_FIRST) ? Order.A_FIRST : Order.B_FIRST;
  }

  /** Multiply-adds per token in the cheaper order. */
  public long multiplyAdds() {
    return multiplyAdds(cheaperOrder());
  }

  /** The shape of Wᵀ: {@code Σ A_rᵀ ⊗ B_rᵀ}. */
  public KronShape transpose() {
    return new KronShape(n1, m1, n2, m2, rank);
  }

  public KronShape withRank(int r) {
    return new KronShape(m1, n1, m2, n2, r);
  }

  /** Fraction of the dense parameters kept, {@code parameterCount / (in·out)}. */
  public double keptFraction() {
    return (double) parameterCount() / denseParameterCount();
  }

  @Override
  public String toString() {
    return describe(m1, n1, m2, n2, rank);
  }

  private static String describe(int m1, int n1, int m2, int n2, int rank) {
    return "(" + m1 + "×" + n1 + ")⊗(" + m2 + "×" + n2 + ") rank " + rank;
  }
}
