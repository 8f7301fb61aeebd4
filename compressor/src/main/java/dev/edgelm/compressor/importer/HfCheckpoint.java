package dev.edgelm.compressor.importer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.Tensor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A Hugging Face checkpoint directory: {@code config.json} and either {@code model.safetensors} or
 * shards listed in {@code model.safetensors.index.json}.
 */
final class HfCheckpoint implements AutoCloseable {
  private final Path dir;
  private final JsonNode config;
  private final Map<String, SafetensorsFile> tensorFile = new LinkedHashMap<>();
  private final List<SafetensorsFile> files = new ArrayList<>();
  private final Set<String> read = new java.util.HashSet<>();

  private HfCheckpoint(Path dir, JsonNode config) {
    this.dir = dir;
    this.config = config;
  }

  static HfCheckpoint open(Path dir) {
    Path configFile = dir.resolve("config.json");
    if (!Files.isRegularFile(configFile)) {
      throw new CheckpointException(dir + " has no config.json; a Hugging Face checkpoint needs config.json and model.safetensors");
    }
    JsonNode config;
    try {
      config = new ObjectMapper().readTree(configFile.toFile());
    } catch (IOException e) {
      throw new CheckpointException(configFile + " is not valid JSON: " + firstLine(e.getMessage()), e);
    }
    if (config == null || !config.isObject()) {
      throw new CheckpointException(configFile + " is not a JSON object");
    }
    HfCheckpoint ckpt = new HfCheckpoint(dir, config);
    try {
      ckpt.openWeights();
    } catch (RuntimeException e) {
      ckpt.close();
      throw e;
    }
    return ckpt;
  }

  private void openWeights() {
    Path single = dir.resolve("model.safetensors");
    Path index = dir.resolve("model.safetensors.index.json");
    if (Files.isRegularFile(single)) {
      SafetensorsFile f = SafetensorsFile.open(single);
      files.add(f);
      for (String name : f.names()) {
        tensorFile.put(name, f);
      }
      return;
    }
    if (!Files.isRegularFile(index)) {
      throw new CheckpointException(dir + " has neither model.safetensors nor model.safetensors.index.json"
          + " (edgelm imports safetensors checkpoints; convert .bin/.pt files with safetensors first)");
    }
    JsonNode weightMap;
    try {
      weightMap = new ObjectMapper().readTree(index.toFile()).get("weight_map");
    } catch (IOException e) {
      throw new CheckpointException(index + " is not valid JSON: " + firstLine(e.getMessage()), e);
    }
    if (weightMap == null || !weightMap.isObject()) {
      throw new CheckpointException(index + " has no weight_map object");
    }
    Map<String, SafetensorsFile> byShard = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> e = it.next();
      String shard = e.getValue().asText();
      if (shard.contains("/") || shard.contains("\\") || shard.startsWith(".")) {
        throw new CheckpointException(index + " names shard '" + shard + "' outside the checkpoint directory");
      }
      SafetensorsFile f = byShard.computeIfAbsent(shard, s -> {
        Path p = dir.resolve(s);
        if (!Files.isRegularFile(p)) {
          throw new CheckpointException(index + " lists shard " + s + ", which is missing");
        }
        SafetensorsFile opened = SafetensorsFile.open(p);
        files.add(opened);
        return opened;
      });
      if (!f.contains(e.getKey())) {
        throw new CheckpointException(index + " places tensor '" + e.getKey() + "' in " + shard + ", which does not hold it");
      }
      tensorFile.put(e.getKey(), f);
    }
  }

  Path dir() {
    return dir;
  }

  JsonNode config() {
    return config;
  }

  List<Path> weightFiles() {
    return files.stream().map(SafetensorsFile::file).toList();
  }

  Set<String> names() {
    return new TreeSet<>(tensorFile.keySet());
  }

  boolean has(String name) {
    return tensorFile.containsKey(name);
  }

  /** Reads a tensor, checking its shape. */
  Tensor read(String name, int... expectedShape) {
    SafetensorsFile f = tensorFile.get(name);
    if (f == null) {
      throw new CheckpointException(dir + " has no tensor '" + name + "' (is this the model_type config.json says?)");
    }
    read.add(name);
    int[] shape = f.entry(name).shape();
    if (!Arrays.equals(shape, expectedShape)) {
      throw new CheckpointException("tensor '" + name + "' in " + f.file() + " has shape " + Arrays.toString(shape)
          + " but config.json implies " + Arrays.toString(expectedShape));
    }
    return f.read(name);
  }

  /** Tensors of the checkpoint no {@link #read} asked for, minus those {@code ignorable} accepts, sorted. */
  List<String> unread(java.util.function.Predicate<String> ignorable) {
    return names().stream().filter(n -> !read.contains(n) && !ignorable.test(n)).toList();
  }

  int intConfig(String key, int fallback) {
    JsonNode n = config.get(key);
    if (n == null || n.isNull()) {
      if (fallback == Integer.MIN_VALUE) {
        throw new CheckpointException(dir.resolve("config.json") + " lacks '" + key + "'");
      }
      return fallback;
    }
    if (!n.canConvertToInt()) {
      throw new CheckpointException(dir.resolve("config.json") + " has a non-integer '" + key + "': " + n);
    }
    return n.asInt();
  }

  int intConfig(String key) {
    return intConfig(key, Integer.MIN_VALUE);
  }

  float floatConfig(String key, float fallback) {
    JsonNode n = config.get(key);
    if (n == null || n.isNull()) {
      return fallback;
    }
    if (!n.isNumber()) {
      throw new CheckpointException(dir.resolve("config.json") + " has a non-numeric '" + key + "': " + n);
    }
    return (float) n.asDouble();
  }

  boolean boolConfig(String key, boolean fallback) {
    JsonNode n = config.get(key);
    return n == null || n.isNull() ? fallback : n.asBoolean(fallback);
  }

  String stringConfig(String key, String fallback) {
    JsonNode n = config.get(key);
    return n == null || n.isNull() ? fallback : n.asText();
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  @Override
  public void close() {
    files.forEach(SafetensorsFile::close);
  }
}
