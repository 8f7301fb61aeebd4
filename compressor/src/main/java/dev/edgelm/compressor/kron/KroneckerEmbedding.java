package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.EmbeddingTable;
import dev.edgelm.compressor.ir.FactoredEmbedding;
import dev.edgelm.compressor.ir.MatrixEncoder;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * A token embedding table [vocab, dim] stored as {@code Ê = (Σ_r A_r ⊗ B_r) Q}: Kronecker factors
 * (A_r of {@code vocab/m2 × n1}, B_r of {@code m2 × n2}) and an optional column permutation
 * ({@code Ê[v, j] = K[v, colPos[j]]}). Rows are never permuted: with {@code m2 = 1} (any GPT-2
 * vocabulary, whose size is odd) the row order cannot change the fit, and a search over 50,257
 * rows would not be affordable anyway.
 *
 * <p>The lookup gathers rows of A (and of B when m2 > 1) and multiplies them out per token, never
 * materialising the table. The tied head {@code x · Êᵀ = x Qᵀ (Σ A_rᵀ ⊗ B_rᵀ)} is the Kronecker
 * product of the transposed factors; it reads the very same initializers through {@code Gemm}
 * with {@code transB=1}, so the factors are stored once and counted once.
 *
 * <p>Immutable and thread-safe.
 */
public final class KroneckerEmbedding implements FactoredEmbedding {
  static final String A = "tok_embed.kron_a";
  static final String B = "tok_embed.kron_b";
  static final String COLUMN_INDEX = "tok_embed.kron_col_index";
  static final String COLUMN_INVERSE = "tok_embed.kron_col_inverse";

  private final KronFactors factors;
  private final int[] colPos;
  /**
   * A re-stored (e.g. quantized) form of A side by side [m1, R·n1] that serves both the lookup (its
   * rows) and the tied head (its transpose), or null for the fp32 initializer {@link #A}.
   */
  private final EmbeddingTable aForm;

  KroneckerEmbedding(KronFactors factors, int[] colPos) {
    this(factors, colPos, null);
  }

  private KroneckerEmbedding(KronFactors factors, int[] colPos, EmbeddingTable aForm) {
    Matrices.checkPermutation(colPos, factors.shape().out(), "column permutation");
    this.factors = factors;
    this.colPos = Matrices.isIdentity(colPos) ? null : colPos.clone();
    this.aForm = aForm;
  }

  /**
   * A (side by side, [vocab/m2, R·n1]) re-stored by {@code encoder} as a table, so its one copy
   * still serves the lookup and the tied head; B (at most a few entries per rank) stays fp32.
   */
  @Override
  public EmbeddingTable withMatrices(MatrixEncoder encoder) {
    if (aForm != null) {
      throw new IllegalStateException("the Kronecker embedding is already re-stored");
    }
    KronShape s = factors.shape();
    EmbeddingTable a = encoder.table("tok_embed.kron_a", Tensor.of(factors.aSideBySide(), s.m1(), s.rank() * s.n1()));
    if (a == null) {
      return this;
    }
    KronFactors restored = new KronFactors(s,
        KronFactors.stackedFromSideBySide(a.toDense().data(), s.rank(), s.m1(), s.n1()), factors.b());
    return new KroneckerEmbedding(restored, colPos, a);
  }

  public KronShape shape() {
    return factors.shape();
  }

  /** Whether a later step re-stored (e.g. quantized) A. */
  public boolean restored() {
    return aForm != null;
  }

  KronFactors factors() {
    return factors;
  }

  int[] colPositions() {
    return colPos;
  }

  @Override
  public int vocabSize() {
    return factors.shape().in();
  }

  @Override
  public int dim() {
    return factors.shape().out();
  }

  @Override
  public long parameterCount() {
    return factors.shape().parameterCount();
  }

  /** Bytes of the initializers: fp32 factors plus the int64 column permutation and its inverse. */
  public long storedBytes() {
    return 4 * parameterCount() + (colPos == null ? 0 : 16L * colPos.length);
  }

  /** A [m1, R·n1] (A_r side by side) and B [R·m2, n2] (B_r stacked), defined once per graph. */
  private void define(GraphBuilder g) {
    KronShape s = factors.shape();
    if (!g.isDefined(B)) {
      if (aForm == null) {
        g.initializer(A, Tensor.of(factors.aSideBySide(), s.m1(), s.rank() * s.n1()));
      }
      g.initializer(B, Tensor.of(factors.b(), s.rank() * s.m2(), s.n2()));
    }
  }

  @Override
  public String emitLookup(GraphBuilder g, String ids, String name) {
    define(g);
    KronShape s = factors.shape();
    int r = s.rank();
    String flat = g.node("Reshape").in(ids, g.int64s(-1)).out(name + "/ids_flat");
    String rowsOfA = flat;
    String rowsOfB = null;
    if (s.m2() > 1) {
      String m2 = g.int64Scalar(s.m2());
      rowsOfA = g.node("Div").in(flat, m2).out(name + "/ids_div");
      String within = g.node("Mod").in(flat, m2).out(name + "/ids_mod");
      long[] offsets = new long[r];
      for (int i = 0; i < r; i++) {
        offsets[i] = (long) i * s.m2();
      }
      String column = g.node("Unsqueeze").in(within, g.int64s(1)).out(name + "/ids_mod_col");
      rowsOfB = g.node("Add").in(column, g.int64s(offsets)).out(name + "/b_rows");
    }
    String a = aForm != null ? aForm.emitLookup(g, rowsOfA, name + "/a_rows")
        : g.node("Gather").in(A, rowsOfA).out(name + "/a_rows");
    String a4 = g.node("Reshape").in(a, g.int64s(-1, r, s.n1(), 1)).out(name + "/a4");
    String b4;
    if (rowsOfB == null) {
      b4 = g.node("Reshape").in(B, g.int64s(1, r, 1, s.n2())).out(name + "/b4");
    } else {
      String b = g.node("Gather").in(B, rowsOfB).out(name + "/b_rows_gathered");
      b4 = g.node("Reshape").in(b, g.int64s(-1, r, 1, s.n2())).out(name + "/b4");
    }
    String outer = g.node("Mul").in(a4, b4).out(name + "/outer");
    String summed = r == 1 ? outer
        : g.node("ReduceSum").in(outer, g.int64s(1)).attr(Attr.i("keepdims", 0)).out(name + "/rank_sum");
    String e = g.node("Reshape").in(summed, g.int64s(-1, s.out())).out(name + "/rows");
    if (colPos != null) {
      String index = g.isDefined(COLUMN_INDEX) ? COLUMN_INDEX : KronGraph.indices(g, COLUMN_INDEX, colPos);
      e = KronGraph.gatherLast(g, e, index, name + "/rows_permuted");
    }
    String idsShape = g.node("Shape").in(ids).out(name + "/ids_shape");
    String shape = g.node("Concat").in(idsShape, g.int64s(s.out())).attr(Attr.i("axis", 0)).out(name + "/out_shape");
    return g.node("Reshape").in(e, shape).out(name + "/out");
  }

  /** Multiply-adds per token of the tied head (B first over the transposed factors). */
  long tiedHeadMultiplyAdds() {
    return factors.shape().transpose().multiplyAdds(KronShape.Order.B_FIRST);
  }

  @Override
  public LinearWeight tiedHead() {
    return new TiedHead();
  }

  @Override
  public Tensor toDense() {
    KronShape s = factors.shape();
    return Tensor.of(Matrices.gather(factors.dense(), s.in(), s.out(), null, colPos), s.in(), s.out());
  }

  /** {@code x · Êᵀ}: B-first over the transposed factors, reading the embedding's initializers. */
  private final class TiedHead implements LinearWeight {
    @Override
    public int inFeatures() {
      return dim();
    }

    @Override
    public int outFeatures() {
      return vocabSize();
    }

    @Override
    public long parameterCount() {
      return 0; // counted once, with the embedding
    }

    @Override
    public String emit(GraphBuilder g, String x, String name) {
      define(g);
      String in = x;
      if (colPos != null) {
        String inverse = g.isDefined(COLUMN_INVERSE) ? COLUMN_INVERSE
            : KronGraph.indices(g, COLUMN_INVERSE, Matrices.inverse(colPos));
        in = KronGraph.gatherLast(g, x, inverse, name + "/in_permuted");
      }
      // Kᵀ = Σ A_rᵀ ⊗ B_rᵀ. B-first over it needs [B_0ᵀ … B_{R-1}ᵀ] = (B stacked)ᵀ and
      // [A_0ᵀ; …; A_{R-1}ᵀ] = (A side by side)ᵀ: exactly the lookup's initializers, read transposed.
      KronGraph.Operand second = aForm != null ? KronGraph.Operand.of(aForm.tiedHead(), name + "/kron_a")
          : new KronGraph.Operand(A, true);
      return KronGraph.emit(g, in, factors.shape().transpose(), KronShape.Order.B_FIRST,
          new KronGraph.Operand(B, true), second, name + "/kron");
    }

    @Override
    public Tensor toDense() {
      return KroneckerEmbedding.this.toDense().transpose();
    }
  }
}
