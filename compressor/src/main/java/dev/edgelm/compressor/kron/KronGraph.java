package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.GraphBuilder;
import dev.edgelm.compressor.onnx.Payload;
import java.util.Arrays;

/**
 * ONNX nodes for {@code y = x · Σ_r A_r ⊗ B_r} without forming the product: two 2-D matrix
 * products around reshapes and (where a non-trivial axis moves) transposes.
 *
 * <p>With x viewed as X [N, m1, m2], {@code y[n, j1, j2] = Σ_r Σ_{i1,i2} X[n, i1, i2] A_r[i1, j1] B_r[i2, j2]}.
 * <ul>
 *   <li>A first: Xᵀ [N·m2, m1] · [A_0 … A_{R-1}] ([m1, R·n1]) → [N, m2, R, n1] → [N, n1, R, m2]
 *       → [N·n1, R·m2] · [B_0; …; B_{R-1}] ([R·m2, n2]) → [N, n1·n2].
 *   <li>B first: X [N·m1, m2] · [B_0 … B_{R-1}] ([m2, R·n2]) → [N, m1, R, n2] → [N, n2, R, m1]
 *       → [N·n2, R·m1] · [A_0; …; A_{R-1}] ([R·m1, n1]) → [N, n2, n1] → [N, n1, n2].
 * </ul>
 * The rank sum happens inside the second product (its inner dimension runs over r and i), so no
 * separate reduction is needed. An operand may be stored transposed (then a {@code Gemm} with
 * {@code transB=1} reads it as it is), which lets a tied head share the embedding's factors.
 */
final class KronGraph {
  /**
   * A factor operand: an fp32 initializer name and whether it is stored transposed, or a weight
   * form of its own that emits the product (a quantized factor, after a quantization step).
   */
  record Operand(String value, boolean transposed, LinearWeight form, String formName) {
    Operand(String value, boolean transposed) {
      this(value, transposed, null, null);
    }

    static Operand of(LinearWeight form, String name) {
      return new Operand(null, false, form, name);
    }
  }

  private KronGraph() {}

  /**
   * Emits the factored product for x [..., m1·m2]; returns the name of y [..., n1·n2].
   *
   * @param first for A-first: A side by side [m1, R·n1]; for B-first: B side by side [m2, R·n2]
   * @param second for A-first: B stacked [R·m2, n2]; for B-first: A stacked [R·m1, n1]
   */
  static String emit(GraphBuilder g, String x, KronShape s, KronShape.Order order, Operand first, Operand second, String name) {
    int r = s.rank();
    String lead = g.node("Shape").in(x).attr(Attr.i("end", -1)).out(name + "/lead_shape");
    String y;
    if (order == KronShape.Order.A_FIRST) {
      String x3 = g.node("Reshape").in(x, g.int64s(-1, s.m1(), s.m2())).out(name + "/x3");
      String xt = permute(g, x3, new int[] {s.m1(), s.m2()}, new int[] {2, 1}, name + "/xt");
      String x2 = g.node("Reshape").in(xt, g.int64s(-1, s.m1())).out(name + "/x2");
      String t = product(g, x2, first, name + "/a");
      String t4 = g.node("Reshape").in(t, g.int64s(-1, s.m2(), r, s.n1())).out(name + "/t4");
      String tt = permute(g, t4, new int[] {s.m2(), r, s.n1()}, new int[] {3, 2, 1}, name + "/tt");
      String t2 = g.node("Reshape").in(tt, g.int64s(-1, (long) r * s.m2())).out(name + "/t2");
      y = product(g, t2, second, name + "/b");
    } else {
      String x2 = g.node("Reshape").in(x, g.int64s(-1, s.m2())).out(name + "/x2");
      String t = product(g, x2, first, name + "/b");
      String t4 = g.node("Reshape").in(t, g.int64s(-1, s.m1(), r, s.n2())).out(name + "/t4");
      String tt = permute(g, t4, new int[] {s.m1(), r, s.n2()}, new int[] {3, 2, 1}, name + "/tt");
      String t2 = g.node("Reshape").in(tt, g.int64s(-1, (long) r * s.m1())).out(name + "/t2");
      String u = product(g, t2, second, name + "/a");
      String u3 = g.node("Reshape").in(u, g.int64s(-1, s.n2(), s.n1())).out(name + "/u3");
      y = permute(g, u3, new int[] {s.n2(), s.n1()}, new int[] {2, 1}, name + "/ut");
    }
    String shape = g.node("Concat").in(lead, g.int64s(s.out())).attr(Attr.i("axis", 0)).out(name + "/out_shape");
    return g.node("Reshape").in(y, shape).out(name + "/out");
  }

  /** {@code x2 · W} for a 2-D x2, reading W transposed when it is stored so. */
  private static String product(GraphBuilder g, String x2, Operand w, String name) {
    if (w.form() != null) {
      return w.form().emit(g, x2, w.formName());
    }
    if (w.transposed()) {
      return g.node("Gemm").in(x2, w.value()).attr(Attr.i("transB", 1)).out(name + "/gemm");
    }
    return g.node("MatMul").in(x2, w.value()).out(name + "/matmul");
  }

  /**
   * Transposes x [N, dims...] by {@code perm} (axes 1.. only; axis 0 stays), as a Reshape when
   * only axes of size 1 move (the data order is then unchanged).
   */
  static String permute(GraphBuilder g, String x, int[] dims, int[] perm, String name) {
    long[] target = new long[dims.length + 1];
    target[0] = -1;
    for (int i = 0; i < perm.length; i++) {
      target[i + 1] = dims[perm[i] - 1];
    }
    if (sameAxes(dims, perm)) {
      return g.node("Reshape").in(x, g.int64s(target)).out(name);
    }
    long[] full = new long[perm.length + 1];
    for (int i = 0; i < perm.length; i++) {
      full[i + 1] = perm[i];
    }
    return g.node("Transpose").in(x).attr(Attr.ints("perm", full)).out(name);
  }

  /** Whether the non-unit axes keep their relative order under {@code perm}. */
  private static boolean sameAxes(int[] dims, int[] perm) {
    int previous = 0;
    for (int p : perm) {
      if (dims[p - 1] != 1) {
        if (p < previous) {
          return false;
        }
        previous = p;
      }
    }
    return true;
  }

  /** An int64 index initializer (for Gather), e.g. a permutation. */
  static String indices(GraphBuilder g, String valueName, int[] values) {
    long[] v = Arrays.stream(values).asLongStream().toArray();
    return g.initializer(valueName, DataType.INT64, new long[] {v.length}, Payload.ofLongs(v));
  }

  /** {@code out[..., k] = x[..., index[k]]}. */
  static String gatherLast(GraphBuilder g, String x, String index, String name) {
    return g.node("Gather").in(x, index).attr(Attr.i("axis", -1)).out(name);
  }
}
