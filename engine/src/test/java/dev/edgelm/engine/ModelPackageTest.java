package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Architecture;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.TokenizerSpec;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelPackageTest {
  @TempDir Path dir;

  @Test
  void open_optimumExport_infersGpt2Descriptor() {
    ModelPackage pkg = ModelPackage.open(SharedAssets.require("models/gpt2-fixture-onnx"));
    assertTrue(pkg.descriptorInferred());
    Architecture a = pkg.descriptor().getArchitecture();
    assertEquals("gpt2", a.getFamily());
    assertEquals(50257, a.getVocabSize());
    assertEquals(256, a.getHiddenSize());
    assertEquals(1024, a.getIntermediateSize());
    assertEquals(4, a.getNumLayers());
    assertEquals(4, a.getNumHeads());
    assertEquals(4, a.getNumKvHeads());
    assertEquals(64, a.getHeadDim());
    assertEquals(256, a.getContextLength());
    assertTrue(a.getTiedEmbeddings());
    assertEquals(2L * 4 * 4 * 64 * 4, pkg.descriptor().getKvCacheBytesPerToken());
    assertTrue(pkg.descriptor().getFilesList().stream().anyMatch(f -> f.getPath().equals("model.onnx") && f.getRole().equals("model")));
    assertEquals(pkg.weightBytes(), pkg.descriptor().getWeightBytes());
    TokenizerSpec tokenizer = pkg.descriptor().getTokenizer();
    assertEquals("gpt2-bpe", tokenizer.getKind());
    assertFalse(tokenizer.getAddBos());
    assertEquals(50256, tokenizer.getEosTokenId());
    assertEquals(50257, pkg.loadTokenizer().vocabSize());
  }

  @Test
  void open_llamaConfig_infersGqaDimensions() throws Exception {
    Files.copy(SharedAssets.require("models/stories260K-hf/config.json"), dir.resolve("config.json"));
    Files.copy(SharedAssets.require("models/stories260K-hf/tokenizer.bin"), dir.resolve("tokenizer.bin"));
    Files.write(dir.resolve("model.onnx"), new byte[0]);
    VariantDescriptor descriptor = ModelPackage.open(dir).descriptor();
    assertEquals("sentencepiece-bpe", descriptor.getTokenizer().getKind());
    assertTrue(descriptor.getTokenizer().getAddBos());
    Architecture a = descriptor.getArchitecture();
    assertEquals("llama", a.getFamily());
    assertEquals(512, a.getVocabSize());
    assertEquals(64, a.getHiddenSize());
    assertEquals(172, a.getIntermediateSize());
    assertEquals(5, a.getNumLayers());
    assertEquals(8, a.getNumHeads());
    assertEquals(4, a.getNumKvHeads());
    assertEquals(8, a.getHeadDim());
    assertEquals(512, a.getContextLength());
    assertEquals(10000f, a.getRopeTheta());
    assertEquals(1e-5f, a.getNormEps());
    assertTrue(a.getTiedEmbeddings());
  }

  @Test
  void open_variantJson_readsDescriptorIgnoringUnknownFields() throws Exception {
    Files.write(dir.resolve("model.onnx"), new byte[10]);
    String json = JsonFormat.printer().print(descriptor(1).toBuilder()
        .addFiles(PackageFile.newBuilder().setPath("model.onnx").setSize(10).setRole("model")));
    Files.writeString(dir.resolve("variant.json"), json.replaceFirst("\\{", "{\"fieldFromTheFuture\": 3,"));
    ModelPackage pkg = ModelPackage.open(dir);
    assertFalse(pkg.descriptorInferred());
    assertEquals("int8", pkg.descriptor().getId());
    assertEquals(1234, pkg.weightBytes());
  }

  @Test
  void open_newerSchema_refused() throws Exception {
    Files.write(dir.resolve("model.onnx"), new byte[0]);
    Files.writeString(dir.resolve("variant.json"), JsonFormat.printer().print(descriptor(ModelPackage.SCHEMA_VERSION + 1)));
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("schema_version 2"), e.getMessage());
  }

  @Test
  void open_listedFileMissingOrWrongSize_namesIt() throws Exception {
    Files.write(dir.resolve("model.onnx"), new byte[10]);
    VariantDescriptor missing = descriptor(1).toBuilder()
        .addFiles(PackageFile.newBuilder().setPath("model.onnx.data").setSize(99).setRole("weights")).build();
    Files.writeString(dir.resolve("variant.json"), JsonFormat.printer().print(missing));
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("model.onnx.data") && e.getMessage().contains(dir.toString()), e.getMessage());

    Files.write(dir.resolve("model.onnx.data"), new byte[98]);
    e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("98 bytes"), e.getMessage());
  }

  @Test
  void open_malformedVariantJson_namesFile() throws Exception {
    Files.write(dir.resolve("model.onnx"), new byte[0]);
    Files.writeString(dir.resolve("variant.json"), "{\"schemaVersion\": \"x\"");
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("variant.json"), e.getMessage());
  }

  @Test
  void open_missingModelOrConfig_namesIt() throws Exception {
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("model.onnx") && e.getMessage().contains(dir.toString()), e.getMessage());
    Files.write(dir.resolve("model.onnx"), new byte[0]);
    e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("config.json"), e.getMessage());
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"bert\"}");
    e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("bert"), e.getMessage());
    Files.writeString(dir.resolve("config.json"), "{\"model_type\": \"gpt2\", \"n_embd\": 64}");
    e = assertThrows(ModelPackageException.class, () -> ModelPackage.open(dir));
    assertTrue(e.getMessage().contains("n_head"), e.getMessage());
  }

  private static VariantDescriptor descriptor(int schema) {
    return VariantDescriptor.newBuilder()
        .setSchemaVersion(schema)
        .setId("int8")
        .setWeightBytes(1234)
        .setArchitecture(Architecture.newBuilder().setFamily("gpt2").setContextLength(256))
        .build();
  }
}
