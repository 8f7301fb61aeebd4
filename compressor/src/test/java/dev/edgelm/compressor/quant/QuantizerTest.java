package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.Compressor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.testing.TestPackages;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class QuantizerTest {
  @TempDir Path tmp;

  private static ModelIr stories() {
    return CheckpointImporter.readWeights(SharedAssets.require(TestPackages.STORIES)).ir();
  }

  @Test
  void options_unsupportedCombinations_failClearly() {
    UsageException groupForInt8 = assertThrows(UsageException.class,
        () -> new QuantizationOptions(Precision.INT8, 32, Algorithm.RTN, 4, ClipScope.CHANNEL, false, 0.01, 1));
    assertTrue(groupForInt8.getMessage().contains("applies to int4"), groupForInt8.getMessage());
    UsageException oddGroup = assertThrows(UsageException.class, () -> QuantizationOptions.int4(48, Algorithm.RTN));
    assertTrue(oddGroup.getMessage().contains("[32, 64, 128]"), oddGroup.getMessage());
    assertThrows(UsageException.class, () -> QuantizationOptions.int4(32, Algorithm.RTN).withAccuracyLevel(5));
    assertThrows(UsageException.class, () -> QuantizationOptions.int4(32, Algorithm.GPTQ).withDamping(0));
  }

  @Test
  void variantIds_nameMethodGroupAndAlgorithm() {
    assertEquals("int8", QuantizationOptions.int8(Algorithm.RTN).variantId());
    assertEquals("int8-gptq", QuantizationOptions.int8(Algorithm.GPTQ).variantId());
    assertEquals("int4-g32-gptq", QuantizationOptions.int4(32, Algorithm.GPTQ).variantId());
    assertEquals("int4-g64-gptq-act", QuantizationOptions.int4(64, Algorithm.GPTQ).withActOrder(true).variantId());
    assertEquals("int4-g128-scale-module", QuantizationOptions.int4(128, Algorithm.SCALE).withClipScope(ClipScope.MODULE).variantId());
  }

  @Test
  void int4_groupSizeWiderThanLayer_failsClearly() {
    ModelIr stories = stories();
    UsageException e = assertThrows(UsageException.class,
        () -> Quantizer.quantize(stories, QuantizationOptions.int4(128, Algorithm.RTN), null, line -> {}));
    assertTrue(e.getMessage().contains("group size 128 is wider than layers.0.attn.qkv (64 inputs); use --group-size 64"),
        e.getMessage());
  }

  @Test
  void int4_groupSizeNotDividing_padsTheLastBlock() {
    List<String> lines = new ArrayList<>();
    Quantizer.Result r = Quantizer.quantize(stories(), QuantizationOptions.int4(32, Algorithm.RTN), null, lines::add);
    assertTrue(lines.stream().anyMatch(l -> l.startsWith("int4 layers.0.mlp.down 172x64") && l.contains("last block zero-padded")),
        String.join("\n", lines));
    assertEquals(172, r.ir().linears().get("layers.0.mlp.down").inFeatures());
  }

  @Test
  void calibratedAlgorithm_withoutCalibrationText_failsClearly() {
    ModelIr stories = stories();
    UsageException e = assertThrows(UsageException.class,
        () -> Quantizer.quantize(stories, QuantizationOptions.int4(32, Algorithm.GPTQ), null, line -> {}));
    assertTrue(e.getMessage().contains("--algo gptq needs calibration text; pass --calib FILE"), e.getMessage());

    Path fp32 = TestPackages.importFp32(TestPackages.STORIES, tmp.resolve("fp32"));
    UsageException viaPackage = assertThrows(UsageException.class, () -> Compressor.compress(
        new VariantJob(fp32, tmp.resolve("out"), null, false, null, CalibrationOptions.DEFAULTS),
        List.of(new Method.Quantization(QuantizationOptions.int4(32, Algorithm.SCALE))), line -> {}));
    assertTrue(viaPackage.getMessage().contains("--algo scale needs calibration text"), viaPackage.getMessage());
    UsageException unused = assertThrows(UsageException.class, () -> Compressor.compress(
        new VariantJob(fp32, tmp.resolve("out"), null, false, fp32.resolve("variant.json"), CalibrationOptions.DEFAULTS),
        List.of(new Method.Quantization(QuantizationOptions.int4(32, Algorithm.RTN))), line -> {}));
    assertTrue(unused.getMessage().contains("--calib is used by --algo scale and gptq, and by kron's refit"), unused.getMessage());
  }

  @Test
  void quantize_alreadyQuantizedModel_isRefused() {
    ModelIr int8 = Quantizer.quantize(stories(), QuantizationOptions.int8(Algorithm.RTN), null, line -> {}).ir();
    UsageException e = assertThrows(UsageException.class,
        () -> Quantizer.quantize(int8, QuantizationOptions.int4(32, Algorithm.RTN), null, line -> {}));
    assertTrue(e.getMessage().contains("already quantized"), e.getMessage());
  }

  @Test
  void quantizePackage_descriptorNamesMethodOpsAndCpuFeatures() {
    Path fp32 = TestPackages.importFp32(TestPackages.STORIES, tmp.resolve("fp32"));
    VariantDescriptor int4 = Compressor.compress(new VariantJob(fp32, tmp.resolve("int4"), null, false, null, null),
        List.of(new Method.Quantization(QuantizationOptions.int4(32, Algorithm.RTN).withAccuracyLevel(0))), line -> {}).descriptor();
    assertEquals("int4-g32-rtn", int4.getId());
    assertEquals("int4", int4.getMethod().getName());
    assertEquals("32", int4.getMethod().getParamsOrThrow("group_size"));
    assertEquals("0", int4.getMethod().getParamsOrThrow("accuracy_level"));
    assertTrue(int4.getRequirements().getOnnxOpsList().contains("com.microsoft:MatMulNBits"));
    assertTrue(int4.getRequirements().getPreferredCpuFeaturesList().contains("avx512_vnni"));
    VariantDescriptor base = ModelPackage.open(fp32).descriptor();
    assertEquals(base.getBaseModelDigest(), int4.getBaseModelDigest());
    assertEquals(base.getParameterCount(), int4.getParameterCount());

    VariantDescriptor int8 = Compressor.compress(new VariantJob(fp32, tmp.resolve("int8"), "my-int8", false, null, null),
        List.of(new Method.Quantization(QuantizationOptions.int8(Algorithm.RTN))), line -> {}).descriptor();
    assertEquals("my-int8", int8.getId());
    assertTrue(int8.getRequirements().getOnnxOpsList().contains("com.microsoft:DynamicQuantizeMatMul"));
    assertTrue(int8.getRequirements().getOnnxOpsList().stream().noneMatch(op -> op.endsWith(":Gemm")), "no fp32 head left");
  }
}
