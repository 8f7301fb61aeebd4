package dev.edgelm.compressor.subspace;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.HeadAdapter;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Makes a model's residual stream rotation-invariant without changing its function: afterwards
 * every norm is an RMSNorm of weight 1, so any orthogonal Q applied to every writer and undone in
 * every reader leaves the logits as they were (the algebra is in the package notes).
 *
 * <p>GPT-2: both embedding tables and every writer (attn.out, mlp.down, weights and biases) are
 * centred, so the stream has zero mean in every row and LayerNorm equals RMSNorm with the same ε;
 * each norm's scale γ and shift β go into its readers (W ← diag(γ)W, b ← βW + b). Llama: the
 * RMSNorm scale goes into the readers. The final norm's readers are the head: an untied head takes
 * them as any reader; a tied one keeps its table (the lookup reads it too) and gets a
 * {@link HeadAdapter} holding diag(γ) | γ, the shift, and for GPT-2 the table's row means.
 */
final class RotationFold {
  private RotationFold() {}

  /** The folded model, of the same hidden size. */
  static ModelIr fold(ModelIr model) {
    requireDense(model);
    boolean centre = model.config().family() == Family.GPT2;
    Tensor table = model.tokenEmbedding().toDense();
    List<Block> blocks = new ArrayList<>();
    for (Block b : model.blocks()) {
      Norm attn = b.attnNorm();
      Norm mlp = b.mlpNorm();
      blocks.add(new Block(unit(attn), reader(b.qkv(), attn), writer(b.attnOut(), centre), unit(mlp),
          reader(b.up(), mlp), b.gate() == null ? null : reader(b.gate(), mlp), writer(b.down(), centre)));
    }
    Norm f = model.finalNorm();
    Linear head = model.head() == null ? null : reader(model.head(), f);
    HeadAdapter adapter = model.head() == null ? adapter(f, centre ? Dense.rowMeans(table) : null) : null;
    return new ModelIr(model.config(), new DenseEmbedding(centre ? Dense.centreRows(table) : table),
        model.positionEmbedding() == null ? null : Dense.centreRows(model.positionEmbedding()),
        blocks, unit(f), head, adapter);
  }

  /** Why the model cannot be folded (a weight not dense fp32), as a usage error. */
  static void requireDense(ModelIr model) {
    for (Map.Entry<String, Linear> e : model.linears().entrySet()) {
      if (!(e.getValue().weight() instanceof DenseLinear)) {
        throw new UsageException("layer " + e.getKey() + " is already compressed; subspace needs fp32 weights, so put it"
            + " before quantization or kron (e.g. subspace,int4)");
      }
    }
    if (!(model.tokenEmbedding() instanceof DenseEmbedding) || model.headAdapter() != null) {
      throw new UsageException("the token embedding is already compressed or projected; subspace needs the fp32 table,"
          + " so put it first and once");
    }
  }

  private static Norm unit(Norm n) {
    return Norm.rms(Tensor.filled(1f, n.weight().size()));
  }

  private static Linear reader(Linear l, Norm n) {
    Tensor w = l.weight().toDense();
    Tensor bias = n.isRms() ? l.bias() : Dense.shiftBias(n.bias().data(), w, l.bias());
    return Linear.dense(Dense.scaleRows(w, n.weight().data()), bias);
  }

  private static Linear writer(Linear l, boolean centre) {
    if (!centre) {
      return l;
    }
    return Linear.dense(Dense.centreRows(l.weight().toDense()), l.bias() == null ? null : Dense.centreRows(l.bias()));
  }

  /** [diag(γ) | γ] with bias [β | Σβ] (GPT-2, with the row means), or diag(γ) (Llama: no shift, no centring). */
  private static HeadAdapter adapter(Norm f, Tensor rowMeans) {
    int d = f.weight().size();
    float[] g = f.weight().data();
    int out = rowMeans == null ? d : d + 1;
    float[] w = new float[d * out];
    for (int i = 0; i < d; i++) {
      w[i * out + i] = g[i];
      if (rowMeans != null) {
        w[i * out + d] = g[i];
      }
    }
    Tensor bias = null;
    if (!f.isRms()) {
      float[] b = new float[out];
      double sum = 0;
      for (int i = 0; i < d; i++) {
        b[i] = f.bias().data()[i];
        sum += b[i];
      }
      if (rowMeans != null) {
        b[d] = (float) sum;
      }
      bias = Tensor.of(b, out);
    }
    return new HeadAdapter(Linear.dense(Tensor.of(w, d, out), bias), rowMeans);
  }
}
