package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.synth.Preset;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KroneckerCompressorTest {
  @TempDir Path tmp;

  @Test
  void compress_parameterCountEqualsFormula() {
    for (Preset preset : List.of(Preset.GPT2_TINY, Preset.LLAMA_TINY)) {
      ModelIr base = TinyModels.imported(preset, tmp).ir();
      for (KronOptions o : List.of(KronOptions.DEFAULTS, KronOptions.DEFAULTS.withPreset(KronPreset.AUTO).withTargetRatio(0.6))) {
        KronOptions options = o.withPermutationIterations(1).withThreads(2);
        KroneckerCompressor.Result r = KroneckerCompressor.compress(base, options, line -> {});
        KronPlan plan = KronPlan.of(base, options);
        assertEquals(plan.parameterCount(), r.model().parameterCount(), preset.id() + " " + options.preset().id());
        assertEquals(plan.parameterCount(), r.report().variant().parameters());
        assertTrue(r.model().parameterCount() < base.parameterCount());
        assertEquals(plan.entries().size(), r.report().layers().size());
      }
    }
  }

  @Test
  void compress_permutationSearchNeverRaisesAWeightError() {
    ModelIr base = TinyModels.imported(Preset.GPT2_TINY, tmp).ir();
    KroneckerCompressor.Result r = KroneckerCompressor.compress(base, KronOptions.DEFAULTS.withThreads(2), line -> {});
    for (KronReport.Layer l : r.report().layers()) {
      assertTrue(l.weightErrorWith() <= l.weightErrorWithout() + 1e-9, l.label());
      assertEquals(l.weightErrorWith(), l.weightErrorFinal(), 1e-4, l.label() + ": the written factors are the searched ones");
    }
    assertTrue(r.report().meanWeightErrorWith() < r.report().meanWeightErrorWithout(), "some permutation helps");
    assertTrue(r.report().toMarkdown().contains("layers.1.mlp.up"));
    assertTrue(r.report().toJson().contains("\"weight_error_with_permutations\""));
  }

  @Test
  void compressedGpt2_runsAsItsDenseEquivalentWithFoldedPermutations() {
    ImportedModel imported = TinyModels.imported(Preset.GPT2_TINY, tmp);
    KroneckerCompressor.Result r = KroneckerCompressor.compress(imported.ir(), KronOptions.DEFAULTS.withThreads(2), line -> {});
    ModelIr model = r.model();
    assertInstanceOf(KroneckerEmbedding.class, model.tokenEmbedding());
    assertNull(model.head(), "the head stays tied to the factored embedding");
    Block b1 = model.blocks().get(1);
    KroneckerLinear up = assertInstanceOf(KroneckerLinear.class, b1.up().weight());
    assertTrue(!up.permutesOutputs(), "c_fc's output permutation is folded into c_proj");
    assertInstanceOf(ColumnGroupsLinear.class, model.blocks().get(0).qkv().weight());
    assertTrue(r.report().layers().stream().anyMatch(l -> l.label().endsWith("mlp.up") && l.columnsPermuted()),
        "the search permuted some c_fc outputs, so folding was exercised");

    assertSameLogits(imported, model);
  }

  @Test
  void compressedLlama_runsAsItsDenseEquivalent() {
    ImportedModel imported = TinyModels.imported(Preset.LLAMA_TINY, tmp);
    KroneckerCompressor.Result r = KroneckerCompressor.compress(imported.ir(),
        KronOptions.DEFAULTS.withPreset(KronPreset.AUTO).withThreads(2), line -> {});
    assertNotNull(r.model().blocks().get(1).gate());
    assertInstanceOf(KroneckerLinear.class, r.model().blocks().get(1).gate().weight());
    assertSameLogits(imported, r.model());
  }

  @Test
  void options_rejectValuesThatCannotWork() {
    assertThrows(IllegalArgumentException.class, () -> KronOptions.DEFAULTS.withTargetRatio(1.5));
    assertThrows(IllegalArgumentException.class, () -> KronOptions.DEFAULTS.withRefitSteps(0));
    assertThrows(IllegalArgumentException.class, () -> KronPreset.fromId("tq"));
  }

  private void assertSameLogits(ImportedModel imported, ModelIr model) {
    Path factored = TinyModels.write(imported, model, "kron", tmp.resolve("kron"));
    Path dense = TinyModels.write(imported, TinyModels.densified(model), "dense", tmp.resolve("dense"));
    int[] prompt = {1, 5, 9, 200, 17, 3};
    float[] want = TinyModels.logits(dense, prompt, 3);
    float[] got = TinyModels.logits(factored, prompt, 3);
    KroneckerEmissionTest.assertClose(want, got);
  }
}
