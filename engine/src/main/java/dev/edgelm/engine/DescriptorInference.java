package dev.edgelm.engine;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.engine.tokenizer.Tokenizers;
import dev.edgelm.proto.v1.Architecture;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Builds a {@link VariantDescriptor} for a package directory written by another tool, from its
 * Hugging Face {@code config.json}. Only what the engine needs to run the package is inferred:
 * the architecture, the files with their sizes, weight and KV-cache bytes, and the tokenizer spec.
 */
final class DescriptorInference {
  private static final ObjectMapper JSON = new ObjectMapper();

  /** Files other tools put in a package, with the role the descriptor gives them. */
  private static final List<String[]> KNOWN_FILES = List.of(
      new String[] {ModelPackage.MODEL_FILE, "model"},
      new String[] {ModelPackage.EXTERNAL_WEIGHTS_FILE, "weights"},
      new String[] {"tokenizer.json", "tokenizer"},
      new String[] {"vocab.json", "tokenizer"},
      new String[] {"merges.txt", "tokenizer"},
      new String[] {"tokenizer.bin", "tokenizer"},
      new String[] {"tokenizer.model", "tokenizer"},
      new String[] {"tokenizer_config.json", "tokenizer"},
      new String[] {"special_tokens_map.json", "tokenizer"},
      new String[] {ModelPackage.HF_CONFIG_FILE, "config"},
      new String[] {"generation_config.json", "config"});

  private DescriptorInference() {}

  static VariantDescriptor infer(Path dir) {
    Path configFile = dir.resolve(ModelPackage.HF_CONFIG_FILE);
    if (!Files.isRegularFile(configFile)) {
      throw new ModelPackageException(
          "model package " + dir + " has neither " + ModelPackage.DESCRIPTOR_FILE + " nor " + ModelPackage.HF_CONFIG_FILE);
    }
    JsonNode config;
    try {
      config = JSON.readTree(configFile.toFile());
    } catch (IOException e) {
      throw new ModelPackageException("malformed " + configFile + ": " + e.getMessage(), e);
    }
    Architecture architecture = architecture(new Config(configFile, config));

    VariantDescriptor.Builder descriptor = VariantDescriptor.newBuilder()
        .setSchemaVersion(ModelPackage.SCHEMA_VERSION)
        .setModel(dir.getFileName().toString())
        .setArchitecture(architecture)
        .setTokenizer(Tokenizers.detect(dir, architecture.getFamily()))
        .setKvCacheBytesPerToken(2L * architecture.getNumLayers() * architecture.getNumKvHeads() * architecture.getHeadDim() * Float.BYTES);
    long weightBytes = 0;
    for (String[] known : KNOWN_FILES) {
      Path file = dir.resolve(known[0]);
      if (Files.isRegularFile(file)) {
        long size = ModelPackage.fileSize(file);
        descriptor.addFiles(PackageFile.newBuilder().setPath(known[0]).setSize(size).setRole(known[1]));
        if (known[1].equals("model") || known[1].equals("weights")) {
          weightBytes += size;
        }
      }
    }
    descriptor.setWeightBytes(weightBytes);
    return descriptor.build();
  }

  private static Architecture architecture(Config c) {
    String type = c.string("model_type", null);
    if (type == null) {
      throw new ModelPackageException(c.file + " has no model_type; cannot tell the architecture");
    }
    switch (type) {
      case "gpt2": {
        int hidden = c.requiredInt("n_embd");
        int heads = c.requiredInt("n_head");
        int inner = c.node.path("n_inner").isNumber() ? c.node.get("n_inner").asInt() : 4 * hidden;
        int positions = c.node.has("n_positions") ? c.requiredInt("n_positions") : c.requiredInt("n_ctx");
        return Architecture.newBuilder()
            .setFamily("gpt2")
            .setVocabSize(c.requiredInt("vocab_size"))
            .setHiddenSize(hidden)
            .setIntermediateSize(inner)
            .setNumLayers(c.requiredInt("n_layer"))
            .setNumHeads(heads)
            .setNumKvHeads(heads)
            .setHeadDim(c.divide(hidden, heads))
            .setContextLength(positions)
            .setNormEps((float) c.number("layer_norm_epsilon", 1e-5))
            .setTiedEmbeddings(c.bool("tie_word_embeddings", true))
            .setActivation(c.string("activation_function", "gelu_new"))
            .build();
      }
      case "llama": {
        int hidden = c.requiredInt("hidden_size");
        int heads = c.requiredInt("num_attention_heads");
        int headDim = c.node.path("head_dim").isNumber() ? c.node.get("head_dim").asInt() : c.divide(hidden, heads);
        return Architecture.newBuilder()
            .setFamily("llama")
            .setVocabSize(c.requiredInt("vocab_size"))
            .setHiddenSize(hidden)
            .setIntermediateSize(c.requiredInt("intermediate_size"))
            .setNumLayers(c.requiredInt("num_hidden_layers"))
            .setNumHeads(heads)
            .setNumKvHeads(c.node.path("num_key_value_heads").isNumber() ? c.node.get("num_key_value_heads").asInt() : heads)
            .setHeadDim(headDim)
            .setContextLength(c.requiredInt("max_position_embeddings"))
            .setNormEps((float) c.number("rms_norm_eps", 1e-6))
            .setRopeTheta((float) c.number("rope_theta", 10000.0))
            .setTiedEmbeddings(c.bool("tie_word_embeddings", false))
            .setActivation(c.string("hidden_act", "silu"))
            .build();
      }
      default:
        throw new ModelPackageException(c.file + " has model_type \"" + type + "\"; edgelm runs gpt2 and llama");
    }
  }

  /** config.json with the file name for error messages. */
  private record Config(Path file, JsonNode node) {
    int requiredInt(String field) {
      JsonNode v = node.get(field);
      if (v == null || !v.canConvertToInt() || v.asInt() <= 0) {
        throw new ModelPackageException(file + " needs a positive integer \"" + field + "\"");
      }
      return v.asInt();
    }

    double number(String field, double fallback) {
      JsonNode v = node.get(field);
      return v != null && v.isNumber() ? v.asDouble() : fallback;
    }

    boolean bool(String field, boolean fallback) {
      JsonNode v = node.get(field);
      return v != null && v.isBoolean() ? v.asBoolean() : fallback;
    }

    String string(String field, String fallback) {
      JsonNode v = node.get(field);
      return v != null && v.isTextual() ? v.asText() : fallback;
    }

    int divide(int hidden, int heads) {
      if (hidden % heads != 0) {
        throw new ModelPackageException(file + ": hidden size " + hidden + " is not a multiple of " + heads + " heads");
      }
      return hidden / heads;
    }
  }
}
