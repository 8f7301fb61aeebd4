package dev.edgelm.compressor.subspace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The fold before any dimension is removed: the fp32 model and its rotation-invariant form (every
 * norm an RMSNorm of weight 1; GPT-2's stream centred; a tied head behind its adapter) give the same
 * logits, within 1e-4 at every position of the shared reference prompts, both run by the engine
 * from written packages.
 */
class RotationFoldTest {
  @TempDir static Path tmp;

  static Stream<Arguments> models() {
    return Stream.of(
        Arguments.of("models/gpt2-fixture", "reference/gpt2-fixture.json"),
        Arguments.of("models/stories260K/stories260K.bin", "reference/stories260K.json"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void fold_keepsEveryLogitWithin1e4(String checkpoint, String reference) {
    ReferenceOutputs ref = ReferenceOutputs.read(SharedAssets.require(reference));
    ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require(checkpoint), null);
    ModelIr folded = RotationFold.fold(m.ir());
    List<Norm> norms = new ArrayList<>(List.of(folded.finalNorm()));
    for (Block b : folded.blocks()) {
      norms.add(b.attnNorm());
      norms.add(b.mlpNorm());
    }
    for (Norm n : norms) {
      assertTrue(n.isRms());
      for (float w : n.weight().data()) {
        assertEquals(1f, w);
      }
    }
    assertEquals(m.ir().config().hiddenSize(), folded.config().hiddenSize());
    Path base = write(m, m.ir(), "fp32");
    Path fold = write(m, folded, "folded");
    double worst = 0;
    try (DecoderModel a = DecoderModel.load(ModelPackage.open(base), SessionSettings.DEFAULTS);
        DecoderModel b = DecoderModel.load(ModelPackage.open(fold), SessionSettings.DEFAULTS)) {
      for (ReferenceOutputs.Case c : ref.cases()) {
        try (Sequence sa = a.newSequence(); Sequence sb = b.newSequence()) {
          float[][] la = sa.appendAll(c.promptIds());
          float[][] lb = sb.appendAll(c.promptIds());
          for (int p = 0; p < la.length; p++) {
            for (int v = 0; v < la[p].length; v++) {
              worst = Math.max(worst, Math.abs(la[p][v] - lb[p][v]));
            }
          }
        }
      }
    }
    assertTrue(worst <= 1e-4, "largest logit difference after the fold: " + worst);
  }

  private static Path write(ImportedModel m, ModelIr ir, String id) {
    Path dir = tmp.resolve(m.name() + "-" + id);
    PackageWriter.write(ir, m.tokenizer(),
        new PackageWriter.Variant(id, m.name(), Method.newBuilder().setName(id).build(), m.sourceDigest()), dir, false);
    return dir;
  }
}
