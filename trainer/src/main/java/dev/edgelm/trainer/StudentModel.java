package dev.edgelm.trainer;

import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.DoubleOptional;
import org.bytedeco.pytorch.LongOptional;
import org.bytedeco.pytorch.TensorOptional;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A {@link ModelIr} as a differentiable libtorch module: the same decoder the ONNX emitter writes
 * (GPT-2: LayerNorm, learned positions, gelu_new; Llama: RMSNorm, rotate-half rotary, SwiGLU,
 * grouped-query attention), run over whole sequences with a causal mask and no KV cache. Every
 * weight keeps the parametrisation the IR stores (see {@link TrainableLinear}); norms, biases and
 * position embeddings train too. {@link #toIr()} returns the model with the current values, in
 * the same forms.
 *
 * <p>Not thread-safe: one training loop owns it.
 */
final class StudentModel {
  private final ModelIr source;
  private final ModelConfig c;
  private final TrainableEmbedding embedding;
  private final org.bytedeco.pytorch.Tensor positions;
  private final List<Layer> layers = new ArrayList<>();
  private final NormParams finalNorm;
  private final Lin head;
  private final List<org.bytedeco.pytorch.Tensor> parameters = new ArrayList<>();

  private record NormParams(org.bytedeco.pytorch.Tensor weight, org.bytedeco.pytorch.Tensor bias) {}

  private record Lin(String name, TrainableLinear weight, org.bytedeco.pytorch.Tensor bias) {}

  /** One block; {@code heads} and {@code kvHeads} are its own (a head-pruned block has fewer than the configuration). */
  private record Layer(int heads, int kvHeads, NormParams attnNorm, Lin qkv, Lin out, NormParams mlpNorm, Lin up, Lin gate, Lin down) {}

  StudentModel(ModelIr ir) {
    this.source = ir;
    this.c = ir.config();
    this.embedding = track(TrainableEmbedding.of(ir.tokenEmbedding()));
    Tensor pos = ir.positionEmbedding();
    this.positions = pos == null ? null : param(Torch.parameter(pos.data(), pos.rows(), pos.cols()));
    for (int i = 0; i < ir.blocks().size(); i++) {
      Block b = ir.blocks().get(i);
      layers.add(new Layer(b.numHeads(c.headDim()), b.numKvHeads(c.headDim()), norm(b.attnNorm()), lin(ModelIr.layerName(i, "attn.qkv"), b.qkv()),
          lin(ModelIr.layerName(i, "attn.out"), b.attnOut()), norm(b.mlpNorm()), lin(ModelIr.layerName(i, "mlp.up"), b.up()),
          b.gate() == null ? null : lin(ModelIr.layerName(i, "mlp.gate"), b.gate()), lin(ModelIr.layerName(i, "mlp.down"), b.down())));
    }
    this.finalNorm = norm(ir.finalNorm());
    this.head = ir.head() == null ? null : lin(ModelIr.HEAD, ir.head());
  }

  /** Every trainable tensor, in a fixed order (checkpoints rely on it). */
  List<org.bytedeco.pytorch.Tensor> parameters() {
    return parameters;
  }

  ModelConfig config() {
    return c;
  }

  /**
   * Logits [batch, seq, vocab] for {@code ids} [batch, seq] (int64), every position attending to
   * itself and the ones before it.
   */
  org.bytedeco.pytorch.Tensor logits(org.bytedeco.pytorch.Tensor ids) {
    long t = ids.size(1);
    org.bytedeco.pytorch.Tensor table = embedding.table();
    org.bytedeco.pytorch.Tensor h = torch.embedding(table, ids);
    org.bytedeco.pytorch.Tensor[] rope = null;
    if (c.family() == Family.GPT2) {
      h = h.add(positions.narrow(0, 0, t));
    } else {
      rope = rotaryTables(t);
    }
    for (Layer l : layers) {
      h = h.add(attention(l, norm(l.attnNorm, h), rope));
      h = h.add(mlp(l, norm(l.mlpNorm, h)));
    }
    org.bytedeco.pytorch.Tensor x = norm(finalNorm, h);
    return head == null ? torch.matmul(x, table.t()) : apply(head, x);
  }

  private org.bytedeco.pytorch.Tensor attention(Layer l, org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor[] rope) {
    long b = x.size(0);
    long t = x.size(1);
    int hd = c.headDim();
    org.bytedeco.pytorch.Tensor qkv = apply(l.qkv, x);
    int queryWidth = l.heads * hd;
    int kvWidth = l.kvHeads * hd;
    org.bytedeco.pytorch.Tensor q = heads(qkv.narrow(2, 0, queryWidth), l.heads);
    org.bytedeco.pytorch.Tensor k = heads(qkv.narrow(2, queryWidth, kvWidth), l.kvHeads);
    org.bytedeco.pytorch.Tensor v = heads(qkv.narrow(2, queryWidth + kvWidth, kvWidth), l.kvHeads);
    if (rope != null) {
      q = rotate(q, rope);
      k = rotate(k, rope);
    }
    int groups = l.heads / l.kvHeads;
    if (groups > 1) {
      // Key head j serves query heads j·g .. j·g+g-1, as the emitter's repeatKv does.
      k = k.repeat_interleave(groups, new LongOptional(1), new LongOptional());
      v = v.repeat_interleave(groups, new LongOptional(1), new LongOptional());
    }
    org.bytedeco.pytorch.Tensor context = torch.scaled_dot_product_attention(q, k, v, new TensorOptional(), 0.0, true,
        new DoubleOptional(1.0 / Math.sqrt(hd)), false);
    return apply(l.out, context.transpose(1, 2).reshape(b, t, queryWidth));
  }

  /** [b, t, n·hd] → [b, n, t, hd]. */
  private org.bytedeco.pytorch.Tensor heads(org.bytedeco.pytorch.Tensor x, int n) {
    return x.reshape(x.size(0), x.size(1), n, c.headDim()).transpose(1, 2);
  }

  /** cos and sin [t, hd/2]: angle = position · θ^(-2i/hd), in fp32 as the emitter computes it. */
  private org.bytedeco.pytorch.Tensor[] rotaryTables(long t) {
    int half = c.headDim() / 2;
    float[] cos = new float[(int) t * half];
    float[] sin = new float[(int) t * half];
    for (int i = 0; i < half; i++) {
      float inv = (float) (1.0 / Math.pow(c.ropeTheta(), (2.0 * i) / c.headDim()));
      for (int p = 0; p < t; p++) {
        float angle = (float) p * inv;
        cos[p * half + i] = (float) Math.cos(angle);
        sin[p * half + i] = (float) Math.sin(angle);
      }
    }
    return new org.bytedeco.pytorch.Tensor[] {Torch.floats(cos, t, half), Torch.floats(sin, t, half)};
  }

  private org.bytedeco.pytorch.Tensor rotate(org.bytedeco.pytorch.Tensor x, org.bytedeco.pytorch.Tensor[] rope) {
    int half = c.headDim() / 2;
    org.bytedeco.pytorch.Tensor x1 = x.narrow(3, 0, half);
    org.bytedeco.pytorch.Tensor x2 = x.narrow(3, half, half);
    org.bytedeco.pytorch.Tensor r1 = x1.mul(rope[0]).sub(x2.mul(rope[1]));
    org.bytedeco.pytorch.Tensor r2 = x2.mul(rope[0]).add(x1.mul(rope[1]));
    return torch.cat(new TensorVector(r1, r2), 3);
  }

  private org.bytedeco.pytorch.Tensor mlp(Layer l, org.bytedeco.pytorch.Tensor x) {
    if (l.gate != null) {
      return apply(l.down, torch.silu(apply(l.gate, x)).mul(apply(l.up, x)));
    }
    return apply(l.down, torch.gelu(apply(l.up, x), "tanh"));
  }

  private org.bytedeco.pytorch.Tensor norm(NormParams n, org.bytedeco.pytorch.Tensor x) {
    if (n.bias != null) {
      return torch.layer_norm(x, new long[] {c.hiddenSize()}, new TensorOptional(n.weight), new TensorOptional(n.bias),
          c.normEps(), false);
    }
    org.bytedeco.pytorch.Tensor ms = x.square().mean(new long[] {-1}, true, new org.bytedeco.pytorch.ScalarTypeOptional());
    return x.mul(ms.add(Torch.scalar(c.normEps())).rsqrt()).mul(n.weight);
  }

  private static org.bytedeco.pytorch.Tensor apply(Lin l, org.bytedeco.pytorch.Tensor x) {
    org.bytedeco.pytorch.Tensor y = torch.matmul(x, l.weight.weight());
    return l.bias == null ? y : y.add(l.bias);
  }

  /** The model with the current values, each weight in the form it came in. */
  ModelIr toIr() {
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < layers.size(); i++) {
      Layer l = layers.get(i);
      blocks.add(new Block(toIr(l.attnNorm), toIr(l.qkv), toIr(l.out), toIr(l.mlpNorm), toIr(l.up),
          l.gate == null ? null : toIr(l.gate), toIr(l.down)));
    }
    Tensor pos = positions == null ? null : Tensor.of(Torch.toFloats(positions), (int) positions.size(0), (int) positions.size(1));
    return new ModelIr(source.config(), embedding.toIr(), pos, blocks, toIr(finalNorm), head == null ? null : toIr(head));
  }

  private static Norm toIr(NormParams n) {
    Tensor w = Tensor.of(Torch.toFloats(n.weight), (int) n.weight.size(0));
    return new Norm(w, n.bias == null ? null : Tensor.of(Torch.toFloats(n.bias), (int) n.bias.size(0)));
  }

  private static Linear toIr(Lin l) {
    return new Linear(l.weight.toIr(), l.bias == null ? null : Tensor.of(Torch.toFloats(l.bias), (int) l.bias.size(0)));
  }

  private NormParams norm(Norm n) {
    return new NormParams(param(Torch.parameter(n.weight().data(), n.weight().size())),
        n.bias() == null ? null : param(Torch.parameter(n.bias().data(), n.bias().size())));
  }

  private Lin lin(String name, Linear l) {
    TrainableLinear w = TrainableLinear.of(name, l.weight());
    parameters.addAll(w.parameters());
    org.bytedeco.pytorch.Tensor bias = l.bias() == null ? null : param(Torch.parameter(l.bias().data(), l.bias().size()));
    return new Lin(name, w, bias);
  }

  private TrainableEmbedding track(TrainableEmbedding e) {
    parameters.addAll(e.parameters());
    return e;
  }

  private org.bytedeco.pytorch.Tensor param(org.bytedeco.pytorch.Tensor t) {
    parameters.add(t);
    return t;
  }
}
