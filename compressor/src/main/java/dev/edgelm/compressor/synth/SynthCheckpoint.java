package dev.edgelm.compressor.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.compressor.OutputException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.importer.SafetensorsFile;
import dev.edgelm.compressor.packaging.StagingDirectory;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Writes a randomly initialised Hugging Face checkpoint ({@code config.json},
 * {@code model.safetensors}, tokenizer files) of a {@link Preset} shape: for benchmarks and tests
 * where real weights are not needed. Its text is random. Weights are N(0, 0.02), norms 1, biases 0,
 * deterministic for a seed.
 */
public final class SynthCheckpoint {
  private static final float INIT_STD = 0.02f;
  private static final String SYNTH_METADATA = "edgelm_synth";

  private SynthCheckpoint() {}

  /** Writes the checkpoint to {@code out}, which must not exist or be empty; all-or-nothing. */
  public static void write(Preset preset, long seed, SafetensorsWriter.Dtype dtype, Path out) {
    write(preset, seed, dtype, out, false);
  }

  /**
   * Writes the checkpoint to {@code out}, all-or-nothing. With {@code replace}, an existing
   * synthesized checkpoint there is replaced; any other non-empty directory is refused.
   */
  public static void write(Preset preset, long seed, SafetensorsWriter.Dtype dtype, Path out, boolean replace) {
    Path target = out.toAbsolutePath().normalize();
    if (Files.exists(target) && !(Files.isDirectory(target) && isEmpty(target)) && !(replace && isSynthesized(target))) {
      throw new UsageException("output " + target + " already exists" + (replace ? " and is not a synthesized checkpoint" : "")
          + "; choose another --out");
    }
    try (StagingDirectory staging = StagingDirectory.create(target)) {
      Path dir = staging.dir();
      writeConfig(preset, dir.resolve("config.json"));
      SafetensorsWriter.write(dir.resolve("model.safetensors"), tensors(preset, seed), dtype,
          Map.of("format", "pt", SYNTH_METADATA, preset.id() + " seed " + seed));
      if (preset.family == Family.GPT2) {
        SyntheticTokenizer.writeGpt2(dir, preset.vocab, seed);
      } else {
        SyntheticTokenizer.writeLlama2c(dir.resolve("tokenizer.bin"), preset.vocab, seed);
      }
      staging.commit(replace);
    } catch (IOException e) {
      throw new OutputException("could not write " + target + ": " + e.getMessage(), e);
    }
  }

  /** Whether {@code dir} holds a checkpoint this class wrote (its weights carry the synth marker). */
  public static boolean isSynthesized(Path dir) {
    Path weights = dir.resolve("model.safetensors");
    if (!Files.isRegularFile(weights)) {
      return false;
    }
    try (SafetensorsFile f = SafetensorsFile.open(weights)) {
      return f.metadata().containsKey(SYNTH_METADATA);
    } catch (RuntimeException e) {
      return false;
    }
  }

  private static boolean isEmpty(Path dir) {
    try (var s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      return false;
    }
  }

  private static void writeConfig(Preset p, Path file) throws IOException {
    ObjectMapper json = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    ObjectNode c = json.createObjectNode();
    c.put("model_type", p.family.id());
    c.put("vocab_size", p.vocab);
    if (p.family == Family.GPT2) {
      c.putArray("architectures").add("GPT2LMHeadModel");
      c.put("n_embd", p.hidden);
      c.put("n_layer", p.layers);
      c.put("n_head", p.heads);
      c.put("n_positions", p.context);
      c.put("n_ctx", p.context);
      c.putNull("n_inner");
      c.put("activation_function", "gelu_new");
      c.put("layer_norm_epsilon", 1e-5);
      c.put("bos_token_id", p.vocab - 1);
      c.put("eos_token_id", p.vocab - 1);
      c.put("tie_word_embeddings", true);
    } else {
      c.putArray("architectures").add("LlamaForCausalLM");
      c.put("hidden_size", p.hidden);
      c.put("intermediate_size", p.intermediate);
      c.put("num_hidden_layers", p.layers);
      c.put("num_attention_heads", p.heads);
      c.put("num_key_value_heads", p.kvHeads);
      c.put("max_position_embeddings", p.context);
      c.put("rms_norm_eps", 1e-5);
      c.put("rope_theta", 10000.0);
      c.put("hidden_act", "silu");
      c.put("tie_word_embeddings", false);
      c.put("bos_token_id", 1);
      c.put("eos_token_id", 2);
    }
    c.put("torch_dtype", "float32");
    json.writeValue(file.toFile(), c);
  }

  private static Map<String, Tensor> tensors(Preset p, long seed) {
    SplittableRandom random = new SplittableRandom(seed);
    Map<String, Tensor> t = new LinkedHashMap<>();
    int d = p.hidden;
    if (p.family == Family.GPT2) {
      t.put("wte.weight", normal(random, p.vocab, d));
      t.put("wpe.weight", normal(random, p.context, d));
      for (int i = 0; i < p.layers; i++) {
        String b = "h." + i + ".";
        t.put(b + "ln_1.weight", Tensor.filled(1f, d));
        t.put(b + "ln_1.bias", Tensor.zeros(d));
        t.put(b + "attn.c_attn.weight", normal(random, d, 3 * d));
        t.put(b + "attn.c_attn.bias", Tensor.zeros(3 * d));
        t.put(b + "attn.c_proj.weight", normal(random, d, d));
        t.put(b + "attn.c_proj.bias", Tensor.zeros(d));
        t.put(b + "ln_2.weight", Tensor.filled(1f, d));
        t.put(b + "ln_2.bias", Tensor.zeros(d));
        t.put(b + "mlp.c_fc.weight", normal(random, d, p.intermediate));
        t.put(b + "mlp.c_fc.bias", Tensor.zeros(p.intermediate));
        t.put(b + "mlp.c_proj.weight", normal(random, p.intermediate, d));
        t.put(b + "mlp.c_proj.bias", Tensor.zeros(d));
      }
      t.put("ln_f.weight", Tensor.filled(1f, d));
      t.put("ln_f.bias", Tensor.zeros(d));
      return t;
    }
    int hd = d / p.heads;
    t.put("model.embed_tokens.weight", normal(random, p.vocab, d));
    for (int i = 0; i < p.layers; i++) {
      String b = "model.layers." + i + ".";
      t.put(b + "input_layernorm.weight", Tensor.filled(1f, d));
      t.put(b + "self_attn.q_proj.weight", normal(random, p.heads * hd, d));
      t.put(b + "self_attn.k_proj.weight", normal(random, p.kvHeads * hd, d));
      t.put(b + "self_attn.v_proj.weight", normal(random, p.kvHeads * hd, d));
      t.put(b + "self_attn.o_proj.weight", normal(random, d, p.heads * hd));
      t.put(b + "post_attention_layernorm.weight", Tensor.filled(1f, d));
      t.put(b + "mlp.gate_proj.weight", normal(random, p.intermediate, d));
      t.put(b + "mlp.up_proj.weight", normal(random, p.intermediate, d));
      t.put(b + "mlp.down_proj.weight", normal(random, d, p.intermediate));
    }
    t.put("model.norm.weight", Tensor.filled(1f, d));
    t.put("lm_head.weight", normal(random, p.vocab, d));
    return t;
  }

  private static Tensor normal(SplittableRandom random, int... shape) {
    Tensor t = Tensor.zeros(shape);
    float[] data = t.data();
    for (int i = 0; i < data.length; i++) {
      data[i] = (float) random.nextGaussian() * INIT_STD;
    }
    return t;
  }
}
