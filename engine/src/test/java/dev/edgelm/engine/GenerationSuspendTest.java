package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import java.util.Arrays;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * {@link Generation#suspend()} frees the KV cache between steps and the next step rebuilds it: on the real
 * gpt2-fixture-onnx model, a greedy generation suspended every few steps gives PyTorch's greedy tokens all the same.
 */
class GenerationSuspendTest {
  private static DecoderModel model;
  private static ReferenceOutputs reference;

  @BeforeAll
  static void load() {
    reference = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json"));
    model = DecoderModel.load(ModelPackage.open(SharedAssets.require("models/gpt2-fixture-onnx")), SessionSettings.DEFAULTS);
  }

  @AfterAll
  static void close() {
    if (model != null) {
      model.close();
    }
  }

  @Test
  void suspendedEveryFewSteps_sameTokensAsUninterrupted() {
    for (ReferenceOutputs.Case c : reference.cases()) {
      int n = c.greedyIds().length;
      int[] ids = new int[n];
      int count = 0;
      try (Generation g = Generation.start(model, GenerationRequest.ofText(c.prompt()).withMaxTokens(n))) {
        while (!g.isFinished()) {
          GenerationChunk chunk = g.next();
          if (chunk.hasToken()) {
            ids[count++] = chunk.tokenId();
          }
          if (!g.isFinished() && count % 3 == 1) {
            g.suspend();
            assertTrue(g.isSuspended());
          }
        }
        assertEquals(FinishReason.LENGTH, g.finishReason());
        assertEquals(new Usage(c.promptIds().length, n), g.usage());
      }
      assertArrayEquals(c.greedyIds(), Arrays.copyOf(ids, count), c.prompt());
    }
  }

  @Test
  void suspendedBeforeTheFirstStep_prefillsAsUsual_andAFinishedOneIsUnaffected() {
    ReferenceOutputs.Case c = reference.cases().get(0);
    try (Generation g = Generation.start(model, GenerationRequest.ofText(c.prompt()).withMaxTokens(1))) {
      g.suspend();
      GenerationChunk only = g.next();
      assertEquals(c.greedyIds()[0], only.tokenId());
      assertTrue(g.isFinished());
      g.suspend();
      assertTrue(!g.isSuspended());
    }
  }
}
