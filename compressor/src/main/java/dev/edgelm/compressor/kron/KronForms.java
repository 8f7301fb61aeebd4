package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.EmbeddingTable;
import dev.edgelm.compressor.ir.LinearWeight;
import java.util.List;

/**
 * The Kronecker forms as a step that changes their values but not their structure sees them (the
 * trainer's {@code distill}): what each stores, and the same form rebuilt with new values. Only
 * fp32 factors are exposed; a form a later step re-stored (quantized) is not, since its values are
 * no longer free parameters.
 */
public final class KronForms {
  private KronForms() {}

  /**
   * The stored values of {@code Ŵ = P (Σ_r A_r ⊗ B_r) Q}: {@code a} is [R, m1, n1] and {@code b}
   * [R, m2, n2], row-major; {@code rowPositions}/{@code colPositions} map input feature i to row
   * {@code rowPositions[i]} and output feature j to column {@code colPositions[j]} of the product
   * (identity when null). An embedding has no row permutation.
   */
  public record Factors(KronShape shape, float[] a, float[] b, int[] rowPositions, int[] colPositions) {}

  /** The factors of a Kronecker linear weight in fp32, or null when {@code w} is not one. */
  public static Factors of(LinearWeight w) {
    if (!(w instanceof KroneckerLinear k) || k.restored()) {
      return null;
    }
    KronFactors f = k.factors();
    return new Factors(f.shape(), f.a(), f.b(), copy(k.rowPositions()), copy(k.colPositions()));
  }

  /** The factors of a Kronecker embedding in fp32, or null when {@code table} is not one. */
  public static Factors of(EmbeddingTable table) {
    if (!(table instanceof KroneckerEmbedding e) || e.restored()) {
      return null;
    }
    KronFactors f = e.factors();
    return new Factors(f.shape(), f.a(), f.b(), null, copy(e.colPositions()));
  }

  /** A Kronecker linear weight with these values. */
  public static LinearWeight linear(Factors f) {
    KronShape s = f.shape();
    return new KroneckerLinear(new KronFactors(s, f.a().clone(), f.b().clone()), positions(f.rowPositions(), s.in()),
        positions(f.colPositions(), s.out()));
  }

  /** A Kronecker embedding with these values. */
  public static EmbeddingTable embedding(Factors f) {
    KronShape s = f.shape();
    return new KroneckerEmbedding(new KronFactors(s, f.a().clone(), f.b().clone()), positions(f.colPositions(), s.out()));
  }

  /** The parts of a weight made of column groups side by side (the fused Q|K|V), or null when {@code w} is not one. */
  public static List<LinearWeight> columnGroups(LinearWeight w) {
    return w instanceof ColumnGroupsLinear g ? g.parts() : null;
  }

  /** {@code original} (column groups) with its parts replaced, in order. */
  public static LinearWeight withColumnGroups(LinearWeight original, List<LinearWeight> parts) {
    if (!(original instanceof ColumnGroupsLinear g) || g.parts().size() != parts.size()) {
      throw new IllegalArgumentException("not column groups of " + parts.size() + " parts: " + original);
    }
    return new ColumnGroupsLinear(parts, g.suffixes());
  }

  private static int[] copy(int[] p) {
    return p == null ? null : p.clone();
  }

  private static int[] positions(int[] p, int n) {
    if (p != null) {
      return p.clone();
    }
    int[] identity = new int[n];
    for (int i = 0; i < n; i++) {
      identity[i] = i;
    }
    return identity;
  }
}
