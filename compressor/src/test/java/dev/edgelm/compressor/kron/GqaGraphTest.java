package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.onnx.DecoderEmitter;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * The GroupQueryAttention graph with its in-place cache (rotary inside the operator for Llama) and
 * the portable Concat graph of the same random-weight model agree to 1e-4 in the logits of a prompt
 * and of 200 greedy steps after it (past the engine's first KV-row capacity of 128 positions, so the
 * row's growth is covered) (the shared references are checked in ImportedModelReferenceTest;
 * their Llama, stories260K, has head size 8, which the operator refuses).
 */
class GqaGraphTest {
  @TempDir static Path tmp;

  @ParameterizedTest
  @EnumSource(value = Preset.class, names = {"GPT2_TINY", "LLAMA_TINY_H16"})
  void gqaAndPortableGraphs_agreeOverPromptAndDecode(Preset preset) {
    ImportedModel m = TinyModels.imported(preset, tmp);
    assertEquals(DecoderEmitter.Attention.GQA_SHARED_KV, DecoderEmitter.Attention.preferredFor(m.ir().config()));
    Path gqa = write(m, DecoderEmitter.Attention.GQA_SHARED_KV, preset.id() + "-gqa");
    Path portable = write(m, DecoderEmitter.Attention.PORTABLE, preset.id() + "-portable");
    assertEquals("shared_buffer", ModelPackage.open(gqa).descriptor().getGraph().getKvCache());
    int[] prompt = {3, 17, 99, 250, 7, 42, 1, 300, 12};
    float[] expected = TinyModels.logits(portable, prompt, 200);
    float[] actual = TinyModels.logits(gqa, prompt, 200);
    for (int i = 0; i < expected.length; i++) {
      assertEquals(expected[i], actual[i], 1e-4f, "logit " + i);
    }
  }

  private static Path write(ImportedModel m, DecoderEmitter.Attention attention, String name) {
    Path dir = tmp.resolve(name);
    PackageWriter.write(m.ir(), m.tokenizer(),
        new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()),
        new PackageWriter.Target(dir, true, List.of()), attention);
    return dir;
  }
}
