package dev.edgelm.compressor.ir;

import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * What a tied head reads when the table it shares with the lookup cannot absorb the final norm's
 * scale and shift (a model made rotation-invariant by the subspace step): before the head, the
 * normalised stream n [..., d] goes through {@code transform}, an fp32 map to d (or d + 1) values;
 * the logits are then
 *
 * <pre>
 *   logits = u · Eᵀ              (u = the first d outputs; E the shared table, in whatever form)
 *          + s · rowMeansᵀ       (s = the last output, only when rowMeans is given)
 * </pre>
 *
 * <p>The second term is exact bookkeeping for a centred table: when the lookup reads E·C (C the
 * centring matrix), the head's original table is E = E·C + m·1ᵀ with m the rows' means, so
 * u·Eᵀ = u·(EC)ᵀ + (u·1)·mᵀ, and u·1 is one more column of the transform. Neither part is
 * quantized: they hold d² + 2d + vocab values.
 *
 * @param transform d → d (no row means) or d → d + 1 (with them), dense fp32, with bias
 * @param rowMeans [vocab], or null
 */
public record HeadAdapter(Linear transform, Tensor rowMeans) {
  public HeadAdapter {
    int extra = rowMeans == null ? 0 : 1;
    if (transform.outFeatures() != transform.inFeatures() + extra) {
      throw new IllegalArgumentException("head adapter maps " + transform.inFeatures() + " to " + transform.outFeatures()
          + " values, expected " + (transform.inFeatures() + extra));
    }
    if (rowMeans != null && rowMeans.rank() != 1) {
      throw new IllegalArgumentException("row means must be a vector, got " + rowMeans);
    }
  }

  public int dim() {
    return transform.inFeatures();
  }

  public long parameterCount() {
    return transform.parameterCount() + (rowMeans == null ? 0 : rowMeans.size());
  }

  /**
   * Emits the transform on every row of {@code normed}, then keeps the rows {@code select} keeps.
   *
   * @param select slices the last rows (the graph's {@code logits_to_keep}), given a value's name
   * @return the head's input for calibration (every row), and for the logits the selected rows
   */
  public Emitted emit(GraphBuilder g, String normed, java.util.function.UnaryOperator<String> select) {
    String t = transform.emit(g, normed, "head_adapter");
    if (rowMeans == null) {
      return new Emitted(t, select.apply(t), null);
    }
    String u = "head_adapter/u";
    String s = "head_adapter/s";
    g.node("Split").in(t, g.int64s(dim(), 1)).attr(Attr.i("axis", -1)).outs(u, s);
    return new Emitted(u, select.apply(u), select.apply(s));
  }

  /** Adds the row-mean term to the head's {@code logits}, when there is one. */
  public String finish(GraphBuilder g, Emitted e, String logits) {
    if (e.sum() == null) {
      return logits;
    }
    String means = g.initializer("head_adapter.row_means", rowMeans);
    String outer = g.node("Mul").in(e.sum(), means).out("head_adapter/mean_term");
    return g.node("Add").in(logits, outer).out("head_adapter/logits");
  }

  /**
   * @param all the head's input on every row (calibration reads it)
   * @param selected the same on the rows the logits are computed for
   * @param sum the selected rows' sums u·1 [..., 1], or null
   */
  public record Emitted(String all, String selected, String sum) {}
}
