package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.util.Arrays;
import java.nio.file.Files;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Text-level checks of ../shared/models/gpt2-fixture-onnx, loaded as a package with its own
 * tokenizer, against ../shared/reference/gpt2-fixture.json (from PyTorch).
 */
class Gpt2FixtureTest {
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
  void tokenizer_encodesReferencePrompts() {
    for (ReferenceOutputs.Case c : reference.cases()) {
      assertArrayEquals(c.promptIds(), model.tokenizer().encodePrompt(c.prompt()), c.prompt());
    }
  }

  @Test
  void stream_greedyTextMatchesReference() {
    for (ReferenceOutputs.Case c : reference.cases()) {
      StringBuilder streamed = new StringBuilder();
      GenerationResult r = Generation.stream(model,
          GenerationRequest.ofText(c.prompt()).withMaxTokens(c.greedyIds().length), streamed::append);
      assertEquals(c.greedyText(), r.text(), c.prompt());
      assertEquals(c.greedyText(), streamed.toString());
      assertArrayEquals(c.greedyIds(), r.tokenIds(), c.prompt());
      assertEquals(FinishReason.LENGTH, r.finishReason());
      assertEquals(new Usage(c.promptIds().length, c.greedyIds().length), r.usage());
    }
  }

  @Test
  void next_greedyFromPromptIdsMatchesReference() {
    for (ReferenceOutputs.Case c : reference.cases()) {
      GenerationRequest request = GenerationRequest.ofIds(c.promptIds()).withMaxTokens(c.greedyIds().length)
          .withSampling(SamplingOptions.DEFAULTS.withTopLogprobs(3));
      try (Generation g = Generation.start(model, request)) {
        for (int i = 0; i < c.greedyIds().length; i++) {
          GenerationChunk chunk = g.next();
          assertEquals(c.greedyIds()[i], chunk.tokenId(), c.prompt() + " token " + i);
          assertEquals(chunk.tokenId(), chunk.topLogprobs().get(0).id(), "greedy picks the most likely token");
          assertEquals(chunk.logprob(), chunk.topLogprobs().get(0).logprob());
        }
        assertEquals(FinishReason.LENGTH, g.finishReason());
      }
    }
  }

  /**
   * The reference protocol on WikiText-2 (test, first half): ~1136 windows of 256 tokens, about a
   * minute on two cores. Skip with {@code -DexcludedGroups=slow}. This is the suite's only run over
   * the whole file: {@code ImportedModelReferenceTest} (compressor) and {@code ModelCoreIT} score
   * slices against this export with the same {@link Scorer} and rely on this check for the reference.
   */
  @Test
  @Tag("slow")
  void perplexity_wikitextMatchesReference() throws IOException {
    JsonNode expected = reference.perplexity();
    String text = Files.readString(SharedAssets.require(expected.get("text").asText()));
    ScoringPlan plan = ScoringPlan.slidingWindow(model.tokenizer(), text, 256, 128);
    assertEquals(expected.get("scored_tokens").asLong(), plan.scoredTokens());

    ExecutorService pool = Executors.newFixedThreadPool(2);
    try {
      long start = System.nanoTime();
      PerplexityResult r = Scorer.perplexity(model, plan, pool, 2);
      System.out.printf("gpt2-fixture-onnx wikitext2-raw-test-a: %d windows, %d targets, ppl %.3f (reference %.3f), %.1f s%n",
          plan.windows().size(), r.scoredTokens(), r.perplexity(), expected.get("perplexity").asDouble(), (System.nanoTime() - start) / 1e9);
      assertEquals(expected.get("scored_tokens").asLong(), r.scoredTokens());
      double ref = expected.get("perplexity").asDouble();
      assertEquals(ref, r.perplexity(), ref * 0.005);
    } finally {
      pool.shutdownNow();
    }
  }

  // Generation.suspend() frees the KV cache between steps and the next step rebuilds it: a greedy
  // generation suspended every few steps gives PyTorch's greedy tokens all the same.

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
