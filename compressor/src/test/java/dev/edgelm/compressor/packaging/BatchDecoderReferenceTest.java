package dev.edgelm.compressor.packaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.onnx.DecoderEmitter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.engine.BatchDecoder;
import dev.edgelm.engine.BatchOptions;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 16's engine acceptance: a {@link BatchDecoder} over edgelm's GroupQueryAttention package
 * decodes greedily the same tokens as one sequence per call — the PyTorch reference's greedy ids for
 * gpt2-fixture — with rows of different lengths in one step, a newcomer prefilled in chunks between
 * the others' steps, a row paused (a hole) and rows finishing early (holes); and reused prefixes (a
 * free row in place, a busy row by copy, the block cache by restore) change no token.
 *
 * <p>The package is imported and written once for the class; the Llama case is a random tiny model
 * with head size 16 (rotary inside the operator, positions from each row's {@code seqlens_k}).
 */
class BatchDecoderReferenceTest {
  @TempDir static Path tmp;
  private static ImportedModel gpt2Import;
  private static DecoderModel gpt2;

  @AfterAll
  static void close() {
    if (gpt2 != null) {
      gpt2.close();
    }
  }

  private static synchronized DecoderModel gpt2() {
    if (gpt2 == null) {
      gpt2Import = CheckpointImporter.importCheckpoint(SharedAssets.require("models/gpt2-fixture"), null);
      gpt2 = DecoderModel.load(ModelPackage.open(write(gpt2Import, DecoderEmitter.Attention.GQA_SHARED_KV, "gpt2-gqa")),
          SessionSettings.DEFAULTS);
    }
    return gpt2;
  }

  @Test
  void batchedGreedy_equalsReference_withRaggedRowsChunkedNewcomerAndHoles() {
    List<ReferenceOutputs.Case> cases = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).cases();
    DecoderModel model = gpt2();
    assertTrue(model.supportsBatchedDecode());
    try (BatchDecoder batch = BatchDecoder.open(model, BatchOptions.DEFAULTS.withMaxRows(4).withPrefixCacheBytes(0))) {
      int n = cases.size();
      BatchDecoder.Row[] rows = new BatchDecoder.Row[n];
      int[][] got = new int[n][];
      int[] produced = new int[n];
      // Case 0 and 1 start at once; case 2 arrives at step 5 and is prefilled 2 tokens per step in between;
      // case 1 sits out steps 10..13 (a hole between rows 0 and 2).
      for (int step = 0; ; step++) {
        for (int c = 0; c < n; c++) {
          int arrives = c == 2 ? 5 : 0;
          if (step == arrives) {
            rows[c] = batch.admit(cases.get(c).promptIds());
            got[c] = new int[cases.get(c).greedyIds().length];
          }
          if (rows[c] != null && produced[c] == 0 && rows[c].length() < cases.get(c).promptIds().length) {
            if (batch.prefillChunk(rows[c], cases.get(c).promptIds(), 2)) {
              got[c][produced[c]++] = argmax(rows[c].logits());
            }
          }
        }
        List<BatchDecoder.Row> ready = new ArrayList<>();
        List<Integer> tokens = new ArrayList<>();
        for (int c = 0; c < n; c++) {
          boolean paused = c == 1 && step >= 10 && step < 14;
          if (rows[c] != null && produced[c] > 0 && produced[c] < got[c].length && !paused) {
            ready.add(rows[c]);
            tokens.add(got[c][produced[c] - 1]);
          }
        }
        if (ready.isEmpty() && step > 5) {
          break;
        }
        if (!ready.isEmpty()) {
          batch.step(ready, tokens.stream().mapToInt(Integer::intValue).toArray());
          for (BatchDecoder.Row r : ready) {
            int c = Arrays.asList(rows).indexOf(r);
            got[c][produced[c]++] = argmax(r.logits());
            if (produced[c] == got[c].length) {
              r.close(); // finished early: a hole from now on
            }
          }
        }
      }
      for (int c = 0; c < n; c++) {
        assertArrayEquals(cases.get(c).greedyIds(), got[c], "greedy ids of '" + cases.get(c).prompt() + "' decoded in the batch");
      }
      assertEquals(4, batch.freeRows());
    }
  }

  @Test
  void reusedPrefixes_freeRowBusyRowAndBlockCache_giveTheSameTokens() {
    DecoderModel model = gpt2();
    List<ReferenceOutputs.Case> cases = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).cases();
    int[] prefix = new int[0];
    for (ReferenceOutputs.Case c : cases) { // a 40-token prefix of real text and its continuations
      prefix = concat(prefix, concat(c.promptIds(), Arrays.copyOf(c.greedyIds(), 8)));
    }
    prefix = Arrays.copyOf(prefix, 40);
    int[] a = concat(prefix, new int[] {464, 2106});
    int[] b = concat(prefix, new int[] {286, 262, 1748});
    int[] expectedA = unbatched(model, a, 12);
    int[] expectedB = unbatched(model, b, 12);
    try (BatchDecoder batch = BatchDecoder.open(model, BatchOptions.DEFAULTS.withMaxRows(2).withPrefixBlockTokens(16))) {
      BatchDecoder.Row first = batch.admit(a);
      assertEquals(0, first.cachedPromptTokens());
      assertArrayEquals(expectedA, decode(batch, first, a, 12));
      // Busy row: b shares 40 tokens with the row still in use, copied into the free row.
      BatchDecoder.Row second = batch.admit(b);
      assertEquals(40, second.cachedPromptTokens());
      assertArrayEquals(expectedB, decode(batch, second, b, 12));
      first.close();
      second.close();
      // Free row in place: a again finds its own row, all but its last token.
      BatchDecoder.Row again = batch.admit(a);
      assertEquals(a.length - 1, again.cachedPromptTokens());
      assertArrayEquals(expectedA, decode(batch, again, a, 12));
      // Overwrite both rows with unrelated prompts, then a is restored from the block cache (two whole blocks).
      BatchDecoder.Row other = batch.admit(new int[] {5, 6, 7});
      again.close();
      BatchDecoder.Row another = batch.admit(new int[] {8, 9, 10, 11});
      decode(batch, other, new int[] {5, 6, 7}, 2);
      decode(batch, another, new int[] {8, 9, 10, 11}, 2);
      other.close();
      BatchDecoder.Row restored = batch.admit(a);
      assertEquals(32, restored.cachedPromptTokens());
      assertArrayEquals(expectedA, decode(batch, restored, a, 12));
      another.close();
      restored.close();
      assertThrows(IllegalStateException.class, () -> batch.step(List.of(restored), new int[] {1}));
    }
  }

  /**
   * Rotary inside GroupQueryAttention: each row's positions come from its own seqlens_k. The longest
   * row passes the block's first capacity (128 positions) during the steps, so the block grows under
   * rows of other lengths.
   */
  @Test
  void llamaRotary_batchedRowsOfDifferentLengths_equalOneSequencePerCall() {
    Path ckpt = tmp.resolve("llama-h16-ckpt");
    SynthCheckpoint.write(Preset.LLAMA_TINY_H16, 1, SafetensorsWriter.Dtype.F32, ckpt);
    ImportedModel m = CheckpointImporter.importCheckpoint(ckpt, null);
    SplittableRandom random = new SplittableRandom(7);
    try (DecoderModel model = DecoderModel.load(ModelPackage.open(write(m, DecoderEmitter.Attention.GQA_SHARED_KV, "llama-gqa")),
            SessionSettings.DEFAULTS);
        BatchDecoder batch = BatchDecoder.open(model, BatchOptions.DEFAULTS.withMaxRows(3))) {
      int[][] prompts = {random.ints(9, 3, 300).toArray(), random.ints(2, 3, 300).toArray(), random.ints(100, 3, 300).toArray()};
      BatchDecoder.Row[] rows = new BatchDecoder.Row[3];
      int[][] got = new int[3][40];
      for (int r = 0; r < 3; r++) {
        rows[r] = batch.admit(prompts[r]);
        while (!batch.prefillChunk(rows[r], prompts[r], 8)) {
          assertFalse(rows[r].length() == prompts[r].length);
        }
        got[r][0] = argmax(rows[r].logits());
      }
      for (int s = 1; s < 40; s++) {
        batch.step(Arrays.asList(rows), new int[] {got[0][s - 1], got[1][s - 1], got[2][s - 1]});
        for (int r = 0; r < 3; r++) {
          got[r][s] = argmax(rows[r].logits());
        }
      }
      for (int r = 0; r < 3; r++) {
        assertArrayEquals(unbatched(model, prompts[r], 40), got[r], "row " + r + " (" + prompts[r].length + "-token prompt)");
      }
    }
  }

  @Test
  void portablePackage_isRefusedTheBatch() {
    DecoderModel model = gpt2();
    assertTrue(model.descriptor().getGraph().getRaggedBatch());
    try (DecoderModel portable = DecoderModel.load(ModelPackage.open(write(gpt2Import, DecoderEmitter.Attention.PORTABLE, "gpt2-portable")),
        SessionSettings.DEFAULTS)) {
      assertFalse(portable.supportsBatchedDecode());
      IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> BatchDecoder.open(portable, BatchOptions.DEFAULTS));
      assertTrue(e.getMessage().contains("no batch-capable graph"), e.getMessage());
    }
  }

  /** Prefills {@code prompt} in chunks of 7, then decodes {@code steps - 1} greedy steps alone in the batch. */
  private static int[] decode(BatchDecoder batch, BatchDecoder.Row row, int[] prompt, int steps) {
    while (!batch.prefillChunk(row, prompt, 7)) {
      // next chunk
    }
    int[] out = new int[steps];
    out[0] = argmax(row.logits());
    for (int s = 1; s < steps; s++) {
      batch.step(List.of(row), new int[] {out[s - 1]});
      out[s] = argmax(row.logits());
    }
    return out;
  }

  /** Greedy tokens of one sequence per call (today's path). */
  private static int[] unbatched(DecoderModel model, int[] prompt, int steps) {
    try (Sequence s = model.newSequence()) {
      int[] out = new int[steps];
      float[] logits = s.append(prompt);
      for (int i = 0; i < steps; i++) {
        out[i] = argmax(logits);
        if (i + 1 < steps) {
          logits = s.append(out[i]);
        }
      }
      return out;
    }
  }

  private static Path write(ImportedModel m, DecoderEmitter.Attention attention, String name) {
    Path dir = tmp.resolve(name);
    PackageWriter.write(m.ir(), m.tokenizer(),
        new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()),
        new PackageWriter.Target(dir, false, List.of()), attention);
    return dir;
  }

  private static int[] concat(int[] x, int[] y) {
    int[] out = Arrays.copyOf(x, x.length + y.length);
    System.arraycopy(y, 0, out, x.length, y.length);
    return out;
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }
}
