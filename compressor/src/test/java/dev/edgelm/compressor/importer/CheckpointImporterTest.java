package dev.edgelm.compressor.importer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CheckpointImporterTest {
  @TempDir Path tmp;

  @Test
  void importCheckpoint_llama2c_findsTokenizerBesideIt() {
    ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require("models/stories260K/stories260K.bin"), null);
    assertEquals("stories260K", m.name());
    assertEquals(512, m.ir().config().vocabSize());
    assertTrue(m.ir().config().tiedEmbeddings());
    assertEquals("sentencepiece-bpe", m.tokenizer().spec().getKind());
    assertTrue(m.tokenizer().spec().getAddBos());
    assertTrue(m.tokenizer().spec().getAddDummyPrefix());
    assertEquals(Map.of("tokenizer.bin", SharedAssets.require("models/stories260K/tok512.bin").toAbsolutePath().normalize()),
        normalize(m.tokenizer().files()));
    assertTrue(m.sourceDigest().matches("sha256:[0-9a-f]{64}"));
  }

  @Test
  void readWeights_llama2cAndHfLlama_giveTheSameModel() {
    ModelIr fromBin = CheckpointImporter.readWeights(SharedAssets.require("models/stories260K/stories260K.bin")).ir();
    ModelIr fromHf = CheckpointImporter.readWeights(SharedAssets.require("models/stories260K-hf")).ir();
    assertEquals(fromBin.config().numLayers(), fromHf.config().numLayers());
    for (Map.Entry<String, Linear> e : fromBin.linears().entrySet()) {
      assertArrayEquals(e.getValue().weight().toDense().data(), fromHf.linears().get(e.getKey()).weight().toDense().data(), 1e-6f, e.getKey());
    }
  }

  @Test
  void importCheckpoint_gpt2_readsTokenizerJson() {
    ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require("models/gpt2-fixture"), null);
    assertEquals("gpt2-bpe", m.tokenizer().spec().getKind());
    assertEquals(16_090_880, m.ir().parameterCount(), "the fixture's README gives 16,090,880 parameters");
    assertNull(m.ir().head());
  }

  @Test
  void readWeights_fp16AndBf16_matchFp32WithinRounding() throws IOException {
    Path f32 = tmp.resolve("f32");
    Path f16 = tmp.resolve("f16");
    Path bf16 = tmp.resolve("bf16");
    SynthCheckpoint.write(Preset.LLAMA_TINY, 7, SafetensorsWriter.Dtype.F32, f32);
    SynthCheckpoint.write(Preset.LLAMA_TINY, 7, SafetensorsWriter.Dtype.F16, f16);
    SynthCheckpoint.write(Preset.LLAMA_TINY, 7, SafetensorsWriter.Dtype.BF16, bf16);
    float[] ref = CheckpointImporter.readWeights(f32).ir().linears().get("layers.0.mlp.up").weight().toDense().data();
    float[] half = CheckpointImporter.readWeights(f16).ir().linears().get("layers.0.mlp.up").weight().toDense().data();
    float[] brain = CheckpointImporter.readWeights(bf16).ir().linears().get("layers.0.mlp.up").weight().toDense().data();
    for (int i = 0; i < ref.length; i++) {
      assertEquals(ref[i], half[i], Math.abs(ref[i]) * 1e-3 + 1e-7, "fp16 element " + i);
      assertEquals(ref[i], brain[i], Math.abs(ref[i]) * 8e-3 + 1e-7, "bf16 element " + i);
    }
  }

  @Test
  void readWeights_shardedCheckpoint_equalsSingleFile() throws IOException {
    Path single = tmp.resolve("single");
    SynthCheckpoint.write(Preset.GPT2_TINY, 3, SafetensorsWriter.Dtype.F32, single);
    Path sharded = Files.createDirectory(tmp.resolve("sharded"));
    Files.copy(single.resolve("config.json"), sharded.resolve("config.json"));
    Map<String, Tensor> all = readAll(single.resolve("model.safetensors"));
    Map<String, Tensor> a = new LinkedHashMap<>();
    Map<String, Tensor> b = new LinkedHashMap<>();
    ObjectNode weightMap = new ObjectMapper().createObjectNode();
    int i = 0;
    for (Map.Entry<String, Tensor> e : all.entrySet()) {
      boolean first = i++ % 2 == 0;
      (first ? a : b).put(e.getKey(), e.getValue());
      weightMap.put(e.getKey(), first ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors");
    }
    SafetensorsWriter.write(sharded.resolve("model-00001-of-00002.safetensors"), a, SafetensorsWriter.Dtype.F32, Map.of());
    SafetensorsWriter.write(sharded.resolve("model-00002-of-00002.safetensors"), b, SafetensorsWriter.Dtype.F32, Map.of());
    ObjectNode index = new ObjectMapper().createObjectNode();
    index.set("weight_map", weightMap);
    Files.writeString(sharded.resolve("model.safetensors.index.json"), index.toString());

    ModelIr x = CheckpointImporter.readWeights(single).ir();
    ModelIr y = CheckpointImporter.readWeights(sharded).ir();
    assertEquals(x.parameterCount(), y.parameterCount());
    assertArrayEquals(x.tokenEmbedding().toDense().data(), y.tokenEmbedding().toDense().data());
    assertArrayEquals(x.linears().get("layers.1.mlp.down").weight().toDense().data(),
        y.linears().get("layers.1.mlp.down").weight().toDense().data());
  }

  @Test
  void readWeights_gpt2NamesWithTransformerPrefix_areRead() throws IOException {
    Path plain = tmp.resolve("plain");
    SynthCheckpoint.write(Preset.GPT2_TINY, 5, SafetensorsWriter.Dtype.F32, plain);
    Path prefixed = Files.createDirectory(tmp.resolve("prefixed"));
    Files.copy(plain.resolve("config.json"), prefixed.resolve("config.json"));
    Map<String, Tensor> renamed = new LinkedHashMap<>();
    readAll(plain.resolve("model.safetensors")).forEach((k, v) -> renamed.put("transformer." + k, v));
    SafetensorsWriter.write(prefixed.resolve("model.safetensors"), renamed, SafetensorsWriter.Dtype.F32, Map.of());
    assertArrayEquals(CheckpointImporter.readWeights(plain).ir().positionEmbedding().data(),
        CheckpointImporter.readWeights(prefixed).ir().positionEmbedding().data());
  }

  @Test
  void readWeights_truncatedSafetensors_saysTruncated() throws IOException {
    Path dir = synthCopy();
    Path st = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(st);
    Files.write(st, java.util.Arrays.copyOf(bytes, bytes.length - 100));
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.readWeights(dir));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    assertTrue(e.getMessage().contains("model.safetensors"), e.getMessage());
  }

  @Test
  void readWeights_garbageFile_isNotReadAsSafetensors() throws IOException {
    Path dir = synthCopy();
    Files.write(dir.resolve("model.safetensors"), "this is not a checkpoint at all".getBytes(StandardCharsets.UTF_8));
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.readWeights(dir));
    assertTrue(e.getMessage().contains("header"), e.getMessage());
  }

  @Test
  void readWeights_headerLiesAboutSizes_namesTheTensor() throws IOException {
    Path dir = synthCopy();
    Path st = dir.resolve("model.safetensors");
    byte[] bytes = Files.readAllBytes(st);
    long headerLen = ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
    String header = new String(bytes, 8, (int) headerLen, StandardCharsets.UTF_8);
    // Claim ln_f.weight is twice as long as it is, keeping the header length unchanged.
    String lying = header.replaceFirst("(\"ln_f\\.weight\":\\{\"dtype\":\"F32\",\"shape\":\\[)64(\\])", "$1128$2");
    assertTrue(!lying.equals(header), "test setup: the header should mention ln_f.weight");
    byte[] patched = bytes.clone();
    byte[] lb = lying.getBytes(StandardCharsets.UTF_8);
    System.arraycopy(lb, 0, patched, 8, lb.length);
    for (int i = 8 + lb.length; i < 8 + headerLen; i++) {
      patched[i] = ' ';
    }
    Files.write(st, patched);
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.readWeights(dir));
    assertTrue(e.getMessage().contains("lies about sizes") && e.getMessage().contains("ln_f.weight"), e.getMessage());
  }

  @Test
  void readWeights_unknownModelType_namesIt() throws IOException {
    Path dir = synthCopy();
    Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json")).replace("\"gpt2\"", "\"bert\""));
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.readWeights(dir));
    assertTrue(e.getMessage().contains("model_type 'bert'"), e.getMessage());
  }

  @Test
  void importCheckpoint_noTokenizer_saysWhatToPass() throws IOException {
    Path dir = synthCopy();
    Files.delete(dir.resolve("vocab.json"));
    Files.delete(dir.resolve("merges.txt"));
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.importCheckpoint(dir, null));
    assertTrue(e.getMessage().contains("no tokenizer"), e.getMessage());
  }

  @Test
  void importCheckpoint_llama2cWithoutVocabulary_asksForTokenizer() throws IOException {
    Path bin = tmp.resolve("lonely.bin");
    Files.copy(SharedAssets.require("models/stories260K/stories260K.bin"), bin);
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.importCheckpoint(bin, null));
    assertTrue(e.getMessage().contains("--tokenizer"), e.getMessage());
  }

  @Test
  void readWeights_truncatedLlama2c_saysTruncated() throws IOException {
    Path bin = tmp.resolve("cut.bin");
    byte[] bytes = Files.readAllBytes(SharedAssets.require("models/stories260K/stories260K.bin"));
    Files.write(bin, java.util.Arrays.copyOf(bytes, bytes.length / 2));
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.readWeights(bin));
    assertTrue(e.getMessage().contains("truncated"), e.getMessage());
  }

  @Test
  void readWeights_configWithFewerLayersThanTheCheckpoint_isRefusedNamingUnusedTensors() throws IOException {
    Path dir = gpt2FixtureWithLayers(2);
    CheckpointException e = assertThrows(CheckpointException.class, () -> CheckpointImporter.readWeights(dir));
    assertTrue(e.getMessage().contains("24 tensors (h.2.attn.c_attn.bias, h.2.attn.c_attn.weight"), e.getMessage());
    assertTrue(e.getMessage().contains("and 19 more") && e.getMessage().contains("--allow-unused"), e.getMessage());
  }

  @Test
  void readWeights_allowUnused_importsTheLayersConfigNamesAndListsTheRest() throws IOException {
    Path dir = gpt2FixtureWithLayers(2);
    CheckpointImporter.Weights w = CheckpointImporter.readWeights(dir, true);
    assertEquals(2, w.ir().blocks().size());
    assertEquals(24, w.unusedTensors().size());
    assertTrue(w.unusedTensors().stream().allMatch(n -> n.startsWith("h.2.") || n.startsWith("h.3.")), w.unusedTensors().toString());
  }

  @Test
  void readWeights_everyTensorUsed_reportsNothingUnused() {
    assertEquals(java.util.List.of(), CheckpointImporter.readWeights(SharedAssets.require("models/gpt2-fixture"), false).unusedTensors());
    assertEquals(java.util.List.of(), CheckpointImporter.readWeights(SharedAssets.require("models/stories260K-hf"), false).unusedTensors());
  }

  @Test
  void ignorable_buffersAndTiedHead_butNotWeights() {
    assertTrue(HfGpt2Importer.ignorable("h.3.attn.bias", false));
    assertTrue(HfGpt2Importer.ignorable("transformer.h.0.attn.masked_bias", false));
    assertTrue(HfGpt2Importer.ignorable("lm_head.weight", true));
    assertTrue(!HfGpt2Importer.ignorable("lm_head.weight", false));
    assertTrue(!HfGpt2Importer.ignorable("h.3.attn.c_attn.bias", false));
    assertTrue(HfLlamaImporter.ignorable("model.layers.0.self_attn.rotary_emb.inv_freq", false));
    assertTrue(!HfLlamaImporter.ignorable("model.layers.0.self_attn.q_proj.weight", true));
  }

  /** gpt2-fixture (4 layers) with a config.json naming {@code layers}; the other files are links to the shared, read-only ones. */
  private Path gpt2FixtureWithLayers(int layers) throws IOException {
    Path src = SharedAssets.require("models/gpt2-fixture");
    Path dir = Files.createDirectories(tmp.resolve("gpt2-fixture-" + layers));
    try (var files = Files.list(src)) {
      for (Path f : files.toList()) {
        if (!f.getFileName().toString().equals("config.json")) {
          Files.createSymbolicLink(dir.resolve(f.getFileName()), f);
        }
      }
    }
    ObjectNode config = (ObjectNode) new ObjectMapper().readTree(src.resolve("config.json").toFile());
    assertEquals(4, config.get("n_layer").asInt());
    config.put("n_layer", layers);
    Files.writeString(dir.resolve("config.json"), config.toString());
    return dir;
  }

  private Path synthCopy() {
    Path dir = tmp.resolve("ckpt");
    SynthCheckpoint.write(Preset.GPT2_TINY, 1, SafetensorsWriter.Dtype.F32, dir);
    return dir;
  }

  private static Map<String, Tensor> readAll(Path file) {
    Map<String, Tensor> out = new LinkedHashMap<>();
    try (SafetensorsFile f = SafetensorsFile.open(file)) {
      for (String n : f.names()) {
        out.put(n, f.read(n));
      }
    }
    return out;
  }

  private static Map<String, Path> normalize(Map<String, Path> m) {
    Map<String, Path> out = new LinkedHashMap<>();
    m.forEach((k, v) -> out.put(k, v.toAbsolutePath().normalize()));
    return out;
  }
}
