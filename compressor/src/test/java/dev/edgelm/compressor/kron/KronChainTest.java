package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.quant.Algorithm;
import dev.edgelm.compressor.quant.QuantizationOptions;
import dev.edgelm.compressor.quant.Quantizer;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.proto.onnx.ModelProto;
import dev.edgelm.proto.onnx.NodeProto;
import dev.edgelm.proto.onnx.TensorProto;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Quantization after Kronecker factorisation: the factor matrices quantized, the permutations untouched. */
class KronChainTest {
  @TempDir Path tmp;

  @Test
  void int4AfterKron_quantizesTheFactorsAndRunsAsItsDequantizedEquivalent() throws Exception {
    for (Preset preset : List.of(Preset.GPT2_TINY, Preset.LLAMA_TINY)) {
      ImportedModel imported = TinyModels.imported(preset, tmp);
      ModelIr kron = KroneckerCompressor.compress(imported.ir(), KronOptions.DEFAULTS.withPreset(preset == Preset.GPT2_TINY ? KronPreset.TQ_GPT2 : KronPreset.AUTO).withThreads(2),
          line -> {}).model();
      ModelIr chained = Quantizer.quantize(kron, QuantizationOptions.int4(32, Algorithm.RTN).withAccuracyLevel(0).withThreads(2), null,
          line -> {}).ir(); // accuracy level 0 computes in fp32, so the graph must match its dequantized weights

      assertInstanceOf(KroneckerEmbedding.class, chained.tokenEmbedding(), "still factored");
      Path pkg = TinyModels.write(imported, chained, "kron-int4", tmp.resolve(preset.id() + "-kron-int4"));
      Path dense = TinyModels.write(imported, TinyModels.densified(chained), "dense", tmp.resolve(preset.id() + "-dense"));
      int[] prompt = {1, 5, 9, 200, 17, 3};
      KroneckerEmissionTest.assertClose(TinyModels.logits(dense, prompt, 3), TinyModels.logits(pkg, prompt, 3));

      ModelProto graph;
      try (InputStream in = Files.newInputStream(pkg.resolve("model.onnx"))) {
        graph = ModelProto.parseFrom(in);
      }
      Set<String> initializers = graph.getGraph().getInitializerList().stream().map(TensorProto::getName).collect(Collectors.toSet());
      List<NodeProto> nbits = graph.getGraph().getNodeList().stream().filter(n -> n.getOpType().equals("MatMulNBits")).toList();
      assertTrue(nbits.stream().anyMatch(n -> n.getInput(1).contains(".kron_a.qweight")), preset + ": A factors run as MatMulNBits");
      assertTrue(initializers.contains("tok_embed.qweight") && !initializers.contains(KroneckerEmbedding.A),
          preset + ": the embedding's A is stored once, quantized, for the lookup and the tied head: " + ((KroneckerEmbedding) kron.tokenEmbedding()).shape());
      assertTrue(initializers.stream().noneMatch(n -> n.endsWith(".weight") && n.startsWith("layers.") && !n.contains("norm")),
          preset + ": no dense fp32 linear weight is left: " + initializers);
      List<String> permutations = initializers.stream().filter(n -> n.contains("_index")).toList();
      if (preset == Preset.GPT2_TINY) {
        assertTrue(!permutations.isEmpty(), "the permutation search kept some permutations");
      }
      for (TensorProto t : graph.getGraph().getInitializerList()) {
        if (t.getName().contains("_index") || t.getName().contains("_inverse")) {
          assertEquals(TensorProto.DataType.INT64_VALUE, t.getDataType(), t.getName() + " stays int64 indices");
        }
      }
      long kronBytes = 4 * kron.parameterCount();
      long written = Files.size(pkg.resolve("model.onnx"));
      assertTrue(written < kronBytes * 0.5, preset + ": " + written + " bytes vs " + kronBytes + " fp32 factor bytes");
    }
  }

  @Test
  void int8AfterKron_runsTheFactorsThroughDynamicQuantizeMatMul() throws Exception {
    ImportedModel imported = TinyModels.imported(Preset.GPT2_TINY, tmp);
    ModelIr kron = KroneckerCompressor.compress(imported.ir(), KronOptions.DEFAULTS.withThreads(2), line -> {}).model();
    ModelIr chained = Quantizer.quantize(kron, QuantizationOptions.int8(Algorithm.RTN).withThreads(2), null, line -> {}).ir();
    Path pkg = TinyModels.write(imported, chained, "kron-int8", tmp.resolve("kron-int8"));
    Path dense = TinyModels.write(imported, TinyModels.densified(chained), "dense", tmp.resolve("dense8"));
    ModelProto graph;
    try (InputStream in = Files.newInputStream(pkg.resolve("model.onnx"))) {
      graph = ModelProto.parseFrom(in);
    }
    assertTrue(graph.getGraph().getNodeList().stream().anyMatch(n -> n.getOpType().equals("DynamicQuantizeMatMul")
        && n.getInput(1).contains(".kron_a.qweight")), "A factors run as DynamicQuantizeMatMul");
    // Activations are quantized per call, so the logits match the dequantized weights only closely.
    int[] prompt = {1, 5, 9, 200, 17, 3};
    float[] want = TinyModels.logits(dense, prompt, 0);
    float[] got = TinyModels.logits(pkg, prompt, 0);
    double err = 0;
    double norm = 0;
    for (int i = 0; i < want.length; i++) {
      err += (want[i] - got[i]) * (double) (want[i] - got[i]);
      norm += want[i] * (double) want[i];
    }
    assertTrue(Math.sqrt(err / norm) < 0.05, "relative logit error " + Math.sqrt(err / norm));
  }
}
