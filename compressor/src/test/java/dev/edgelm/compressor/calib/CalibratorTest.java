package dev.edgelm.compressor.calib;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.testing.TestPackages;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.engine.tokenizer.Tokenizers;
import dev.edgelm.proto.v1.TokenizerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CalibratorTest {
  @TempDir Path tmp;

  private static CalibrationText tokens(int sequences, int length) {
    List<int[]> seqs = new java.util.ArrayList<>();
    for (int s = 0; s < sequences; s++) {
      int[] ids = new int[length];
      ids[0] = 1;
      for (int i = 1; i < length; i++) {
        ids[i] = 3 + (s * 131 + i * 17) % 500;
      }
      seqs.add(ids);
    }
    return CalibrationText.of(seqs, "sha256:test");
  }

  @Test
  void collect_gramEqualsXtXOfEveryRow_andLayersReadingOneValueShareIt() {
    ModelIr ir = CheckpointImporter.readWeights(SharedAssets.require(TestPackages.STORIES)).ir();
    CalibrationText text = tokens(3, 16);
    CalibrationOptions options = CalibrationOptions.DEFAULTS.withSampleRows(48).withThreads(1);
    Calibration c = Calibrator.collect(ir, text, EnumSet.of(Statistic.GRAM, Statistic.SAMPLE), options, line -> {});

    ActivationStats down = c.of("layers.2.mlp.down");
    assertEquals(172, down.width());
    assertEquals(48, down.rows());
    assertEquals(48, down.sampleRows(), "all 48 rows sampled");
    // Every row sampled: the Gram matrix ONNX Runtime computed is XᵀX of the sampled rows.
    for (String name : List.of("layers.0.attn.qkv", "layers.2.mlp.down", "head")) {
      ActivationStats s = c.of(name);
      int k = s.width();
      for (int i = 0; i < k; i += 7) {
        for (int j = 0; j < k; j += 5) {
          double want = 0;
          for (int r = 0; r < s.sampleRows(); r++) {
            want += (double) s.sample()[r * k + i] * s.sample()[r * k + j];
          }
          assertEquals(want, s.gram()[i * k + j], 1e-3 * Math.max(1, Math.abs(want)), name + " (" + i + "," + j + ")");
        }
      }
    }
    assertSame(c.of("layers.1.mlp.gate"), c.of("layers.1.mlp.up"), "SwiGLU gate and up read the same activation");
    assertNotSame(c.of("layers.1.mlp.up"), c.of("layers.1.mlp.down"));
    assertTrue(c.has(Statistic.GRAM) && c.has(Statistic.SAMPLE));
  }

  @Test
  void collect_gramOnly_keepsNoSamples() {
    ModelIr ir = CheckpointImporter.readWeights(SharedAssets.require(TestPackages.STORIES)).ir();
    Calibration c = Calibrator.collect(ir, tokens(2, 8), EnumSet.of(Statistic.GRAM), CalibrationOptions.DEFAULTS, line -> {});
    assertNull(c.of("head").sample());
    assertEquals(64 * 64, c.of("head").gram().length);
  }

  @Test
  void load_spreadsSequencesEvenlyAndPrependsBos() throws IOException {
    Path text = tmp.resolve("calib.txt");
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < 400; i++) {
      s.append("The cat sat on the mat and looked at the dog. ");
    }
    Files.writeString(text, s);
    Tokenizer tok = Tokenizers.load(SharedAssets.require("models/stories260K/tok512.bin").getParent(),
        TokenizerSpec.newBuilder().setKind("sentencepiece-bpe").addFiles("tok512.bin").setAddBos(true)
            .setAddDummyPrefix(true).setBosTokenId(1).setEosTokenId(2).build());
    CalibrationText c = CalibrationText.load(text, tok, 5, 32);
    assertEquals(5, c.sequences().size());
    assertEquals(32, c.sequenceLength());
    int[] all = tok.encode(Files.readString(text));
    int chunks = all.length / 31;
    for (int i = 0; i < 5; i++) {
      int[] seq = c.sequences().get(i);
      assertEquals(1, seq[0], "BOS first");
      int chunk = i * chunks / 5;
      assertEquals(all[chunk * 31], seq[1], "sequence " + i + " starts chunk " + chunk);
    }
    assertTrue(c.digest().startsWith("sha256:"));
    UsageException e = assertThrows(UsageException.class, () -> CalibrationText.load(text, tok, 5, all.length + 10));
    assertTrue(e.getMessage().contains("give a longer text"), e.getMessage());
  }
}
