package dev.edgelm.compressor.packaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
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
import dev.edgelm.proto.v1.Method;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A scheduler's life in fast-forward on a random tiny GPT-2 (context 256): 40 streams join a batch
 * of 5 rows over time, with prompts that often share a prefix with earlier ones (reuse from rows and
 * from the block cache), prefilled in random chunks between steps, paused at random (holes), some
 * cancelled, some decoding until the context is full (a full row then sits in later steps' spans).
 * Every stream that ran to its end produced exactly the greedy tokens of one sequence per call, and
 * every row is free at the end. Seeded, so a failure repeats.
 */
class BatchDecoderScheduleTest {
  @TempDir static Path tmp;

  /** One stream as the scheduler sees it. */
  private static final class Stream {
    final int[] prompt;
    final int wanted;
    BatchDecoder.Row row;
    int[] got;
    int produced;
    boolean cancelled;

    Stream(int[] prompt, int wanted) {
      this.prompt = prompt;
      this.wanted = wanted;
      this.got = new int[wanted];
    }
  }

  @Test
  void randomJoinsPausesCancelsAndFullRows_decodeAsOneSequencePerCall_andFreeEveryRow() {
    Path ckpt = tmp.resolve("gpt2-tiny-ckpt");
    SynthCheckpoint.write(Preset.GPT2_TINY, 3, SafetensorsWriter.Dtype.F32, ckpt);
    ImportedModel m = CheckpointImporter.importCheckpoint(ckpt, null);
    Path dir = tmp.resolve("gpt2-tiny-gqa");
    PackageWriter.write(m.ir(), m.tokenizer(), new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(),
        m.sourceDigest()), new PackageWriter.Target(dir, false, List.of()), DecoderEmitter.Attention.GQA_SHARED_KV);
    SplittableRandom random = new SplittableRandom(16);
    try (DecoderModel model = DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS);
        BatchDecoder batch = BatchDecoder.open(model, BatchOptions.DEFAULTS.withMaxRows(5).withPrefixBlockTokens(8))) {
      int context = model.contextLength();
      List<Stream> waiting = new ArrayList<>();
      List<int[]> earlier = new ArrayList<>();
      for (int s = 0; s < 40; s++) {
        int[] prompt = random.ints(1 + random.nextInt(40), 1, 1000).toArray();
        if (!earlier.isEmpty() && random.nextInt(3) > 0) { // share a prefix with an earlier prompt
          int[] base = earlier.get(random.nextInt(earlier.size()));
          int keep = 1 + random.nextInt(base.length);
          prompt = concat(Arrays.copyOf(base, keep), random.ints(1 + random.nextInt(6), 1, 1000).toArray());
        }
        earlier.add(prompt);
        int wanted = random.nextInt(8) == 0 ? context - prompt.length + 1 : 1 + random.nextInt(30); // some fill the context
        waiting.add(new Stream(prompt, wanted));
      }
      List<Stream> running = new ArrayList<>();
      List<Stream> done = new ArrayList<>();
      int reused = 0;
      while (!waiting.isEmpty() || !running.isEmpty()) {
        while (!waiting.isEmpty() && batch.freeRows() > 0 && random.nextInt(3) > 0) {
          Stream s = waiting.remove(0);
          s.row = batch.admit(s.prompt);
          reused += s.row.cachedPromptTokens();
          running.add(s);
        }
        List<BatchDecoder.Row> rows = new ArrayList<>();
        List<Stream> stepped = new ArrayList<>();
        for (Stream s : new ArrayList<>(running)) {
          if (s.wanted < 100 && random.nextInt(60) == 0) { // cancelled between steps (never a stream filling the context)
            s.cancelled = true;
            end(s, running, done);
          } else if (s.produced == 0) { // prefilling, one chunk per iteration
            if (batch.prefillChunk(s.row, s.prompt, 1 + random.nextInt(12))) {
              s.got[s.produced++] = argmax(s.row.logits());
              if (s.produced == s.wanted) {
                end(s, running, done);
              }
            }
          } else if (random.nextInt(5) > 0) { // else paused this step: a hole
            rows.add(s.row);
            stepped.add(s);
          }
        }
        if (!rows.isEmpty()) {
          batch.step(rows, stepped.stream().mapToInt(s -> s.got[s.produced - 1]).toArray());
          for (Stream s : stepped) {
            s.got[s.produced++] = argmax(s.row.logits());
            if (s.produced == s.wanted) {
              end(s, running, done);
            }
          }
        }
      }
      assertEquals(5, batch.freeRows(), "every row is free");
      assertTrue(reused > 0, "some prompts reused a prefix");
      int checked = 0;
      for (Stream s : done) {
        if (!s.cancelled) {
          assertArrayEquals(unbatched(model, s.prompt, s.wanted), s.got, "stream with a " + s.prompt.length + "-token prompt");
          checked++;
        }
      }
      assertTrue(checked >= 20, checked + " streams ran to their end");
      assertTrue(done.stream().anyMatch(s -> !s.cancelled && s.prompt.length + s.wanted - 1 == context), "a stream filled the context");
    }
  }

  private static void end(Stream s, List<Stream> running, List<Stream> done) {
    s.row.close();
    running.remove(s);
    done.add(s);
  }

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
