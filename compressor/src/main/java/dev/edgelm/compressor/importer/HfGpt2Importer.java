package dev.edgelm.compressor.importer;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a Hugging Face GPT-2 checkpoint. Conv1D weights are stored [in, out], which is already the
 * IR's orientation; tensor names may or may not carry the {@code transformer.} prefix.
 */
final class HfGpt2Importer {
  private HfGpt2Importer() {}

  /** Buffers some GPT-2 checkpoints carry that are not weights: the causal mask and its fill value. */
  private static final java.util.regex.Pattern BUFFERS = java.util.regex.Pattern.compile("(transformer\\.)?h\\.\\d+\\.attn\\.(masked_)?bias");

  /** Whether a tensor the importer did not read may be left out without losing anything. */
  static boolean ignorable(String name, boolean tied) {
    return BUFFERS.matcher(name).matches() || (tied && name.equals("lm_head.weight"));
  }

  static ModelIr read(HfCheckpoint ckpt) {
    String act = ckpt.stringConfig("activation_function", "gelu_new");
    if (!act.equals("gelu_new") && !act.equals("gelu_pytorch_tanh")) {
      throw new CheckpointException(ckpt.dir().resolve("config.json") + " asks for activation_function '" + act
          + "'; edgelm supports gpt2 models with gelu_new (tanh approximation)");
    }
    if (ckpt.boolConfig("scale_attn_by_inverse_layer_idx", false) || ckpt.boolConfig("reorder_and_upcast_attn", false)) {
      throw new CheckpointException(ckpt.dir().resolve("config.json")
          + " enables scale_attn_by_inverse_layer_idx or reorder_and_upcast_attn, which edgelm does not support");
    }
    int d = ckpt.intConfig("n_embd");
    int layers = ckpt.intConfig("n_layer");
    int heads = ckpt.intConfig("n_head");
    int vocab = ckpt.intConfig("vocab_size");
    int positions = ckpt.intConfig("n_positions", ckpt.intConfig("n_ctx", Integer.MIN_VALUE));
    int inner = ckpt.intConfig("n_inner", 4 * d);
    if (heads <= 0 || d % heads != 0) {
      throw new CheckpointException(ckpt.dir().resolve("config.json") + ": n_embd " + d + " is not divisible by n_head " + heads);
    }
    ModelConfig config = new ModelConfig(Family.GPT2, vocab, d, inner, layers, heads, heads, d / heads,
        positions, ckpt.floatConfig("layer_norm_epsilon", 1e-5f), 0f, true, "gelu_new");

    String p = ckpt.has("transformer.wte.weight") ? "transformer." : "";
    Tensor wte = ckpt.read(p + "wte.weight", vocab, d);
    Tensor wpe = ckpt.read(p + "wpe.weight", positions, d);
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      String b = p + "h." + i + ".";
      blocks.add(new Block(
          layerNorm(ckpt, b + "ln_1", d),
          Linear.dense(ckpt.read(b + "attn.c_attn.weight", d, 3 * d), ckpt.read(b + "attn.c_attn.bias", 3 * d)),
          Linear.dense(ckpt.read(b + "attn.c_proj.weight", d, d), ckpt.read(b + "attn.c_proj.bias", d)),
          layerNorm(ckpt, b + "ln_2", d),
          Linear.dense(ckpt.read(b + "mlp.c_fc.weight", d, inner), ckpt.read(b + "mlp.c_fc.bias", inner)),
          null,
          Linear.dense(ckpt.read(b + "mlp.c_proj.weight", inner, d), ckpt.read(b + "mlp.c_proj.bias", d))));
    }
    Norm finalNorm = layerNorm(ckpt, p + "ln_f", d);
    Linear head = null;
    if (!ckpt.boolConfig("tie_word_embeddings", true) && ckpt.has("lm_head.weight")) {
      head = Linear.dense(ckpt.read("lm_head.weight", vocab, d).transpose(), null);
    }
    ModelConfig finalConfig = config.withTiedEmbeddings(head == null);
    return new ModelIr(finalConfig, new DenseEmbedding(wte), wpe, blocks, finalNorm, head);
  }

  private static Norm layerNorm(HfCheckpoint ckpt, String name, int d) {
    return new Norm(ckpt.read(name + ".weight", d), ckpt.read(name + ".bias", d));
  }
}
