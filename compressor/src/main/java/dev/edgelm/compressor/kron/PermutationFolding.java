package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Tensor;

/**
 * Removes Gathers that are exactly equivalent to a reordering of a neighbouring layer's weights.
 *
 * <p>Only one case, the one that is both exact and common: the output permutation of a GPT-2
 * {@code mlp.up} (c_fc). Between c_fc and c_proj there is only the bias and gelu, both elementwise,
 * so permuting c_fc's outputs (and its bias) is the same as permuting c_proj's input rows:
 * {@code gelu(x Ŵ Q + b) D = gelu(x Ŵ + b Qᵀ) (Q D)}. The permutation moves into c_proj's rows —
 * into its own input permutation when c_proj is factored (the two Gathers become one), into its
 * dense weight otherwise (no Gather left).
 *
 * <p>Not folded: input permutations of layers that read the residual stream through a norm (the
 * stream is shared by every block), Q/K/V output permutations (attention mixes features within a
 * head), and SwiGLU's gate/up pair (both would need the same permutation).
 */
final class PermutationFolding {
  private PermutationFolding() {}

  static ModelIr fold(ModelIr model) {
    if (model.config().family() != Family.GPT2) {
      return model;
    }
    ModelIr out = model;
    for (int i = 0; i < model.blocks().size(); i++) {
      Block b = out.blocks().get(i);
      if (!(b.up().weight() instanceof KroneckerLinear up) || up.colPositions() == null) {
        continue;
      }
      int[] q = up.colPositions();
      LinearWeight down = b.down().weight();
      LinearWeight folded;
      if (down instanceof KroneckerLinear kd) {
        int[] inverse = Matrices.inverse(q);
        int[] rows = new int[q.length];
        int[] dr = kd.rowPositions();
        for (int l = 0; l < rows.length; l++) {
          rows[l] = dr == null ? inverse[l] : dr[inverse[l]];
        }
        folded = kd.withPositions(rows, kd.colPositions());
      } else if (down instanceof DenseLinear dense) {
        Tensor w = dense.weight();
        folded = new DenseLinear(Tensor.of(Matrices.scatter(w.data(), w.rows(), w.cols(), q, null), w.rows(), w.cols()));
      } else {
        continue;
      }
      Tensor bias = b.up().bias();
      Tensor newBias = null;
      if (bias != null) {
        float[] nb = new float[bias.size()];
        for (int j = 0; j < nb.length; j++) {
          nb[q[j]] = bias.data()[j];
        }
        newBias = Tensor.of(nb, nb.length);
      }
      out = out.withLinear(ModelIr.layerName(i, "mlp.up"), new Linear(up.withPositions(up.rowPositions(), null), newBias));
      out = out.withLinear(ModelIr.layerName(i, "mlp.down"), b.down().withWeight(folded));
    }
    return out;
  }
}
