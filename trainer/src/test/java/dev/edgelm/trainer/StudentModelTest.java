package dev.edgelm.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.kron.KronOptions;
import dev.edgelm.compressor.kron.KronPreset;
import dev.edgelm.compressor.kron.KroneckerCompressor;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Path;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.Tensor;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The libtorch student computes what ONNX Runtime computes from the package the emitter writes of
 * the same IR (to 1e-4), for both families and for Kronecker factors with permutations, and its
 * backward pass reaches every parameter.
 */
class StudentModelTest {
  @TempDir static Path tmp;

  @BeforeAll
  static void natives() {
    Torch.init(2, 1);
  }

  @Test
  void forward_matchesOnnxRuntime_andBackwardReachesEveryParameter() {
    ImportedModel gpt2 = CheckpointImporter.importCheckpoint(SharedAssets.require("models/gpt2-fixture"), null);
    ImportedModel stories = CheckpointImporter.importCheckpoint(SharedAssets.require("models/stories260K/stories260K.bin"), null);
    ModelIr storiesKron = KroneckerCompressor.compress(stories.ir(),
        KronOptions.DEFAULTS.withPreset(KronPreset.AUTO).withTargetRatio(0.65).withThreads(2), line -> {}).model();
    int[] gptIds = {464, 2068, 7586, 21831, 18045, 625, 262, 16931, 3290, 13, 50256, 40, 716};
    int[] storyIds = {1, 403, 407, 261, 116, 29, 373, 471, 263, 282, 287, 372};
    check("gpt2-fixture", gpt2, gpt2.ir(), gptIds);
    check("stories260K", stories, stories.ir(), storyIds);
    check("stories260K kron", stories, storiesKron, storyIds);
  }

  private static void check(String what, ImportedModel imported, ModelIr ir, int[] ids) {
    Path pkg = tmp.resolve(what.replace(' ', '-'));
    PackageWriter.write(ir, imported.tokenizer(),
        new PackageWriter.Variant("t", imported.name(), Method.newBuilder().setName("t").build(), imported.sourceDigest()), pkg, false);
    float[][] want;
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(pkg), SessionSettings.DEFAULTS); Sequence s = m.newSequence()) {
      want = s.appendAll(ids);
    }
    StudentModel student = new StudentModel(ir);
    try (PointerScope scope = new PointerScope()) {
      long[] l = new long[ids.length];
      for (int i = 0; i < ids.length; i++) {
        l[i] = ids[i];
      }
      Tensor logits = student.logits(Torch.longs(l, 1, ids.length));
      float[] got = Torch.toFloats(logits);
      int v = want[0].length;
      assertEquals((long) ids.length * v, got.length, what + ": logits shape");
      double worst = 0;
      for (int t = 0; t < ids.length; t++) {
        for (int j = 0; j < v; j++) {
          worst = Math.max(worst, Math.abs(want[t][j] - got[t * v + j]));
        }
      }
      assertTrue(worst < 1e-4, what + ": largest logit difference against ONNX Runtime " + worst);

      logits.square().mean().backward();
      int i = 0;
      for (Tensor p : student.parameters()) {
        Tensor g = p.grad();
        assertTrue(g.defined(), what + ": parameter " + i + " got no gradient");
        double norm = g.square().sum().item_float();
        assertTrue(Double.isFinite(norm) && norm > 0, what + ": parameter " + i + " gradient norm² " + norm);
        i++;
      }
    }
  }
}
