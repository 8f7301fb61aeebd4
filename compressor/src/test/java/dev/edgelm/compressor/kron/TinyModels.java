package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.proto.v1.Method;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** Random-weight models of the synth presets, imported, and helpers to run them as packages. */
final class TinyModels {
  private TinyModels() {}

  static ImportedModel imported(Preset preset, Path tmp) {
    Path dir = tmp.resolve(preset.id() + "-checkpoint");
    if (!Files.exists(dir)) {
      SynthCheckpoint.write(preset, 1, SafetensorsWriter.Dtype.F32, dir);
    }
    return CheckpointImporter.importCheckpoint(dir, null);
  }

  /** The same model with every weight converted to its dense fp32 form. */
  static ModelIr densified(ModelIr model) {
    ModelIr out = model.withTokenEmbedding(new DenseEmbedding(model.tokenEmbedding().toDense()));
    for (Map.Entry<String, Linear> e : model.linears().entrySet()) {
      out = out.withLinear(e.getKey(), e.getValue().withWeight(new DenseLinear(e.getValue().weight().toDense())));
    }
    return out;
  }

  static Path write(ImportedModel imported, ModelIr ir, String id, Path dir) {
    PackageWriter.write(ir, imported.tokenizer(),
        new PackageWriter.Variant(id, imported.name(), Method.newBuilder().setName(id).build(), imported.sourceDigest()), dir, true);
    return dir;
  }

  /** Logits after a prompt and then after each of {@code steps} greedy tokens, concatenated. */
  static float[] logits(Path pkg, int[] prompt, int steps) {
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(pkg), SessionSettings.DEFAULTS.withIntraOpThreads(1));
        Sequence s = m.newSequence()) {
      int vocab = m.vocabSize();
      float[] out = new float[vocab * (steps + 1)];
      float[] l = s.append(prompt);
      System.arraycopy(l, 0, out, 0, vocab);
      for (int i = 1; i <= steps; i++) {
        l = s.append(new int[] {argmax(l)});
        System.arraycopy(l, 0, out, i * vocab, vocab);
      }
      return out;
    }
  }

  private static int argmax(float[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }

  static void deleteQuietly(Path p) throws IOException {
    PackageWriter.deleteRecursively(p);
  }
}
