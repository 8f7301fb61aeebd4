package dev.edgelm.compressor.importer;

import com.fasterxml.jackson.databind.JsonNode;
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
 * Reads a Hugging Face Llama checkpoint ({@code nn.Linear} weights stored [out, in], transposed to
 * the IR's [in, out]; q/k already in the rotate-half rotary convention). Query, key and value
 * projections are fused into one [in, q+2kv] layer.
 */
final class HfLlamaImporter {
  private HfLlamaImporter() {}

  /**
   * Whether a tensor the importer did not read may be left out without losing anything: rotary
   * frequency buffers (recomputed from rope_theta), and a stored head when the embedding is tied.
   */
  static boolean ignorable(String name, boolean tied) {
    return name.endsWith("rotary_emb.inv_freq") || (tied && name.equals("lm_head.weight"));
  }

  static ModelIr read(HfCheckpoint ckpt) {
    JsonNode scaling = ckpt.config().get("rope_scaling");
    if (scaling != null && !scaling.isNull()) {
      String type = scaling.path("rope_type").asText(scaling.path("type").asText(""));
      if (!type.equals("default")) {
        throw new CheckpointException(ckpt.dir().resolve("config.json") + " uses rope_scaling '" + type
            + "', which edgelm does not support yet");
      }
    }
    String act = ckpt.stringConfig("hidden_act", "silu");
    if (!act.equals("silu")) {
      throw new CheckpointException(ckpt.dir().resolve("config.json") + " asks for hidden_act '" + act
          + "'; edgelm supports llama models with silu (SwiGLU)");
    }
    int d = ckpt.intConfig("hidden_size");
    int layers = ckpt.intConfig("num_hidden_layers");
    int heads = ckpt.intConfig("num_attention_heads");
    int kvHeads = ckpt.intConfig("num_key_value_heads", heads);
    int inter = ckpt.intConfig("intermediate_size");
    int vocab = ckpt.intConfig("vocab_size");
    int ctx = ckpt.intConfig("max_position_embeddings");
    if (heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
      throw new CheckpointException(ckpt.dir().resolve("config.json") + ": num_attention_heads " + heads
          + " is not a multiple of num_key_value_heads " + kvHeads);
    }
    int headDim = ckpt.intConfig("head_dim", d / heads);
    boolean tied = ckpt.boolConfig("tie_word_embeddings", false);
    boolean attnBias = ckpt.boolConfig("attention_bias", false);
    boolean mlpBias = ckpt.boolConfig("mlp_bias", false);
    int q = heads * headDim;
    int kv = kvHeads * headDim;

    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      String b = "model.layers." + i + ".";
      String a = b + "self_attn.";
      Tensor qkv = Tensor.concatColumns(
          ckpt.read(a + "q_proj.weight", q, d).transpose(),
          ckpt.read(a + "k_proj.weight", kv, d).transpose(),
          ckpt.read(a + "v_proj.weight", kv, d).transpose());
      Tensor qkvBias = attnBias ? Tensor.concat1d(
          ckpt.read(a + "q_proj.bias", q), ckpt.read(a + "k_proj.bias", kv), ckpt.read(a + "v_proj.bias", kv)) : null;
      String m = b + "mlp.";
      blocks.add(new Block(
          Norm.rms(ckpt.read(b + "input_layernorm.weight", d)),
          Linear.dense(qkv, qkvBias),
          Linear.dense(ckpt.read(a + "o_proj.weight", d, q).transpose(), attnBias ? ckpt.read(a + "o_proj.bias", d) : null),
          Norm.rms(ckpt.read(b + "post_attention_layernorm.weight", d)),
          Linear.dense(ckpt.read(m + "up_proj.weight", inter, d).transpose(), mlpBias ? ckpt.read(m + "up_proj.bias", inter) : null),
          Linear.dense(ckpt.read(m + "gate_proj.weight", inter, d).transpose(), mlpBias ? ckpt.read(m + "gate_proj.bias", inter) : null),
          Linear.dense(ckpt.read(m + "down_proj.weight", d, inter).transpose(), mlpBias ? ckpt.read(m + "down_proj.bias", d) : null)));
    }
    Tensor embed = ckpt.read("model.embed_tokens.weight", vocab, d);
    Linear head = null;
    if (!tied) {
      if (!ckpt.has("lm_head.weight")) {
        throw new CheckpointException(ckpt.dir() + " has no lm_head.weight but config.json says tie_word_embeddings is false");
      }
      head = Linear.dense(ckpt.read("lm_head.weight", vocab, d).transpose(), null);
    }
    ModelConfig config = new ModelConfig(Family.LLAMA, vocab, d, inter, layers, heads, kvHeads, headDim, ctx,
        ckpt.floatConfig("rms_norm_eps", 1e-6f), ckpt.floatConfig("rope_theta", 10000f), tied, "silu");
    return new ModelIr(config, new DenseEmbedding(embed), null, blocks, Norm.rms(ckpt.read("model.norm.weight", d)), head);
  }
}
