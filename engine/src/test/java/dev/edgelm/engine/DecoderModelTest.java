package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.FakeTokenizer;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ONNX Runtime decoder on ../shared/models/gpt2-fixture-onnx against PyTorch's outputs. */
class DecoderModelTest {
  private static DecoderModel model;
  private static ReferenceOutputs reference;

  @BeforeAll
  static void load() {
    ModelPackage pkg = ModelPackage.open(SharedAssets.require("models/gpt2-fixture-onnx"));
    reference = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json"));
    model = DecoderModel.load(pkg, SessionSettings.DEFAULTS, FakeTokenizer.of("unused"));
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
  }

  @Test
  void load_discoversOptimumIo() {
    assertEquals(4, model.layers());
    assertEquals(50257, model.vocabSize());
    assertEquals(256, model.contextLength());
    assertEquals(2L * 4 * 4 * 64 * 4, model.kvCacheBytesPerToken());
    assertTrue(model.residentBytes() > 60_000_000L, "weights of the fixture are ~64 MB");
  }

  @Test
  void appendAll_promptLogitsMatchReferenceTop5() {
    for (ReferenceOutputs.Case c : reference.cases()) {
      float[][] rows;
      try (Sequence seq = model.newSequence()) {
        rows = seq.appendAll(c.promptIds());
        assertEquals(c.promptIds().length, seq.length());
      }
      for (int p = 0; p < rows.length; p++) {
        int[] top = Sampler.topIndices(rows[p], c.top5Ids()[p].length);
        assertArrayEquals(c.top5Ids()[p], top, c.prompt() + " position " + p);
        for (int k = 0; k < top.length; k++) {
          assertEquals(c.top5Logits()[p][k], rows[p][top[k]], 1e-3, c.prompt() + " position " + p + " rank " + k);
        }
      }
    }
  }

  @Test
  void append_greedyContinuationMatchesReference() {
    for (ReferenceOutputs.Case c : reference.cases()) {
      int[] generated = new int[c.greedyIds().length];
      try (Sequence seq = model.newSequence()) {
        float[] logits = seq.append(c.promptIds());
        for (int i = 0; i < generated.length; i++) {
          generated[i] = Sampler.topIndices(logits, 1)[0];
          logits = seq.append(generated[i]);
        }
      }
      assertArrayEquals(c.greedyIds(), generated, c.prompt());
    }
  }

  @Test
  void newSequence_concurrentSequencesShareTheSession() throws Exception {
    List<ReferenceOutputs.Case> cases = reference.cases();
    ExecutorService pool = Executors.newFixedThreadPool(cases.size());
    try {
      List<Future<int[]>> results = new ArrayList<>();
      for (ReferenceOutputs.Case c : cases) {
        results.add(pool.submit(() -> {
          int[] generated = new int[c.greedyIds().length];
          try (Sequence seq = model.newSequence()) {
            float[] logits = seq.append(c.promptIds());
            for (int i = 0; i < generated.length; i++) {
              generated[i] = Sampler.topIndices(logits, 1)[0];
              logits = seq.append(generated[i]);
            }
          }
          return generated;
        }));
      }
      for (int i = 0; i < cases.size(); i++) {
        assertArrayEquals(cases.get(i).greedyIds(), results.get(i).get(60, TimeUnit.SECONDS), cases.get(i).prompt());
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void append_kvCacheMatchesFullRecompute() {
    int[] prompt = reference.cases().get(0).promptIds();
    int steps = 64;
    int[] tokens = Arrays.copyOf(prompt, prompt.length + steps);
    try (Sequence cached = model.newSequence(); Sequence full = model.newSequence()) {
      float[] logits = cached.append(prompt);
      for (int step = 0; step < steps; step++) {
        int length = prompt.length + step;
        full.reset();
        float[] recomputed = full.append(Arrays.copyOf(tokens, length));
        assertArrayEquals(recomputed, logits, 1e-4f, "step " + step);
        // Feed a token that is not the argmax so the cache sees varied inputs.
        tokens[length] = Sampler.topIndices(logits, 3)[step % 3];
        logits = cached.append(tokens[length]);
      }
      assertEquals(prompt.length + steps, cached.length());
    }
  }

  @Test
  void append_rowsFromFirstRowOnly() {
    int[] prompt = reference.cases().get(0).promptIds();
    try (Sequence all = model.newSequence(); Sequence some = model.newSequence()) {
      float[][] expected = all.appendAll(prompt);
      int[] seen = new int[prompt.length];
      some.append(prompt, 3, (index, logits) -> {
        seen[index]++;
        assertArrayEquals(expected[index], logits, 0f);
      });
      assertArrayEquals(new int[] {0, 0, 0, 1, 1}, seen);
    }
  }

  @Test
  void append_pastContext_throwsAndKeepsSequence() {
    try (Sequence seq = model.newSequence()) {
      seq.append(new int[200]);
      InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> seq.append(new int[57]));
      assertTrue(e.getMessage().contains("257") && e.getMessage().contains("256"), e.getMessage());
      assertEquals(200, seq.length());
      seq.append(new int[56]);
      assertEquals(256, seq.length());
    }
  }

  @Test
  void append_idOutsideVocabulary_throwsInvalidRequest() {
    try (Sequence seq = model.newSequence()) {
      assertThrows(InvalidRequestException.class, () -> seq.append(50257));
      assertThrows(InvalidRequestException.class, () -> seq.append(-1));
      assertEquals(0, seq.length());
    }
  }

  @Test
  void close_waitsForOpenSequences() {
    DecoderModel second = DecoderModel.load(ModelPackage.open(SharedAssets.require("models/gpt2-fixture-onnx")),
        SessionSettings.DEFAULTS, FakeTokenizer.of("unused"));
    Sequence seq = second.newSequence();
    second.close();
    assertThrows(IllegalStateException.class, second::newSequence);
    float[] logits = seq.append(464);
    assertFalse(Float.isNaN(logits[0]), "the session still runs for the open sequence");
    seq.close();
    seq.close();
  }
}
