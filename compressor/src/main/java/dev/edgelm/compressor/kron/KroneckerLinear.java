package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.FactoredWeight;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.MatrixEncoder;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * A linear weight stored as {@code Ŵ = P (Σ_r A_r ⊗ B_r) Q}: Kronecker factors plus optional
 * input (row) and output (column) permutations. Input feature i of the layer is row
 * {@code rowPositions[i]} of the factored product and output feature j its column
 * {@code colPositions[j]}: {@code Ŵ[i, j] = K[rowPos[i], colPos[j]]}.
 *
 * <p>Emitted as reshapes around two matrix products (see {@link KronShape.Order}; the cheaper order
 * is used), never as a dense matrix; each permutation is a {@code Gather} on the feature axis.
 * The permutation indices are int64 initializers, not parameters.
 *
 * <p>Immutable and thread-safe.
 */
public final class KroneckerLinear implements FactoredWeight {
  private final KronFactors factors;
  private final int[] rowPos;
  private final int[] colPos;
  /** Re-stored forms of the first and second product's matrices (e.g. quantized), or null for fp32 initializers. */
  private final LinearWeight firstForm;
  private final LinearWeight secondForm;

  KroneckerLinear(KronFactors factors, int[] rowPos, int[] colPos) {
    this(factors, rowPos, colPos, null, null);
  }

  private KroneckerLinear(KronFactors factors, int[] rowPos, int[] colPos, LinearWeight firstForm, LinearWeight secondForm) {
    KronShape s = factors.shape();
    Matrices.checkPermutation(rowPos, s.in(), "row permutation");
    Matrices.checkPermutation(colPos, s.out(), "column permutation");
    this.factors = factors;
    this.rowPos = Matrices.isIdentity(rowPos) ? null : rowPos.clone();
    this.colPos = Matrices.isIdentity(colPos) ? null : colPos.clone();
    this.firstForm = firstForm;
    this.secondForm = secondForm;
  }

  /**
   * The same structure with the two product matrices re-stored by {@code encoder} (each may stay
   * fp32); the factors this form reports ({@link #toDense}) become the re-stored values. The
   * permutations are untouched: they are indices, not weights.
   */
  @Override
  public LinearWeight withMatrices(String name, MatrixEncoder encoder) {
    if (firstForm != null || secondForm != null) {
      throw new IllegalStateException(name + " is already re-stored");
    }
    KronShape s = factors.shape();
    boolean aFirst = s.cheaperOrder() == KronShape.Order.A_FIRST;
    Tensor first = aFirst ? Tensor.of(factors.aSideBySide(), s.m1(), s.rank() * s.n1())
        : Tensor.of(factors.bSideBySide(), s.m2(), s.rank() * s.n2());
    Tensor second = aFirst ? Tensor.of(factors.b(), s.rank() * s.m2(), s.n2()) : Tensor.of(factors.a(), s.rank() * s.m1(), s.n1());
    LinearWeight f = encoder.matrix(name + (aFirst ? ".kron_a" : ".kron_b"), first);
    LinearWeight g = encoder.matrix(name + (aFirst ? ".kron_b" : ".kron_a"), second);
    if (f == null && g == null) {
      return this;
    }
    float[] firstValues = (f == null ? first : f.toDense()).data();
    float[] secondValues = (g == null ? second : g.toDense()).data();
    KronFactors restored = aFirst
        ? new KronFactors(s, KronFactors.stackedFromSideBySide(firstValues, s.rank(), s.m1(), s.n1()), secondValues)
        : new KronFactors(s, secondValues, KronFactors.stackedFromSideBySide(firstValues, s.rank(), s.m2(), s.n2()));
    return new KroneckerLinear(restored, rowPos, colPos, f, g);
  }

  /** Whether a later step re-stored (e.g. quantized) a factor. */
  public boolean restored() {
    return firstForm != null || secondForm != null;
  }

  public KronShape shape() {
    return factors.shape();
  }

  /** Whether the layer's inputs are permuted (a Gather before the products). */
  public boolean permutesInputs() {
    return rowPos != null;
  }

  /** Whether the layer's outputs are permuted (a Gather after the products). */
  public boolean permutesOutputs() {
    return colPos != null;
  }

  KronFactors factors() {
    return factors;
  }

  int[] rowPositions() {
    return rowPos;
  }

  int[] colPositions() {
    return colPos;
  }

  /** The same factors with other permutations. */
  KroneckerLinear withPositions(int[] rows, int[] cols) {
    return new KroneckerLinear(factors, rows, cols, firstForm, secondForm);
  }

  @Override
  public int inFeatures() {
    return factors.shape().in();
  }

  @Override
  public int outFeatures() {
    return factors.shape().out();
  }

  @Override
  public long parameterCount() {
    return factors.shape().parameterCount();
  }

  /** Bytes of the initializers this layer writes: fp32 factors plus int64 permutation indices. */
  public long storedBytes() {
    return 4 * parameterCount() + 8L * ((rowPos == null ? 0 : rowPos.length) + (colPos == null ? 0 : colPos.length));
  }

  @Override
  public String emit(GraphBuilder graph, String x, String name) {
    KronShape s = factors.shape();
    String in = x;
    if (rowPos != null) {
      // x'[k] = x[i] where rowPos[i] = k.
      in = KronGraph.gatherLast(graph, x, KronGraph.indices(graph, name + ".kron_in_index", Matrices.inverse(rowPos)),
          name + "/in_permuted");
    }
    KronShape.Order order = s.cheaperOrder();
    KronGraph.Operand first;
    KronGraph.Operand second;
    if (order == KronShape.Order.A_FIRST) {
      first = firstForm != null ? KronGraph.Operand.of(firstForm, name + ".kron_a") : new KronGraph.Operand(
          graph.initializer(name + ".kron_a", Tensor.of(factors.aSideBySide(), s.m1(), s.rank() * s.n1())), false);
      second = secondForm != null ? KronGraph.Operand.of(secondForm, name + ".kron_b") : new KronGraph.Operand(
          graph.initializer(name + ".kron_b", Tensor.of(factors.b(), s.rank() * s.m2(), s.n2())), false);
    } else {
      first = firstForm != null ? KronGraph.Operand.of(firstForm, name + ".kron_b") : new KronGraph.Operand(
          graph.initializer(name + ".kron_b", Tensor.of(factors.bSideBySide(), s.m2(), s.rank() * s.n2())), false);
      second = secondForm != null ? KronGraph.Operand.of(secondForm, name + ".kron_a") : new KronGraph.Operand(
          graph.initializer(name + ".kron_a", Tensor.of(factors.a(), s.rank() * s.m1(), s.n1())), false);
    }
    String y = KronGraph.emit(graph, in, s, order, first, second, name + "/kron");
    if (colPos != null) {
      y = KronGraph.gatherLast(graph, y, KronGraph.indices(graph, name + ".kron_out_index", colPos), name + "/out_permuted");
    }
    return y;
  }

  @Override
  public Tensor toDense() {
    KronShape s = factors.shape();
    return Tensor.of(Matrices.gather(factors.dense(), s.in(), s.out(), rowPos, colPos), s.in(), s.out());
  }

  @Override
  public String toString() {
    return "KroneckerLinear" + factors.shape() + (rowPos != null ? " +row perm" : "") + (colPos != null ? " +col perm" : "");
  }
}
