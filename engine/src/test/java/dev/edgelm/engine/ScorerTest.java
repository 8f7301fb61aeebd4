package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgelm.engine.testing.FakeLanguageModel;
import dev.edgelm.engine.testing.FakeTokenizer;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ScorerTest {
  private static final FakeTokenizer TOK = FakeTokenizer.of("a", "b", "c", "d");

  @Test
  void score_handsOneRowPerScoredTargetInOrder() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 8);
    int[] stream = IntStream.range(0, 20).map(i -> 2 + i % 4).toArray();
    ScoringPlan plan = ScoringPlan.slidingWindow(stream, 8, 3);
    List<int[]> seen = new ArrayList<>();
    Scorer.score(model, plan, (window, position, target, logits) -> {
      ScoringWindow w = plan.windows().get(window);
      assertEquals(w.tokens()[position], target);
      seen.add(new int[] {window, position});
    });
    assertEquals(plan.scoredTokens(), seen.size());
    int expected = 0;
    for (int k = 0; k < plan.windows().size(); k++) {
      ScoringWindow w = plan.windows().get(k);
      for (int p = w.firstTarget(); p < w.tokens().length; p++) {
        assertEquals(k, seen.get(expected)[0]);
        assertEquals(p, seen.get(expected++)[1]);
      }
    }
    assertEquals(plan.windows().size(), model.appendCalls(), "one run per window");
    assertEquals(0, model.openSequences());
  }

  @Test
  void perplexity_matchesLogSumExpOfKnownLogits() {
    // The fake predicts EOS with logit 10 and gives 0 to the other V-1 ids, so every target costs
    // log(e^10 + V - 1).
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 16);
    ScoringPlan plan = ScoringPlan.slidingWindow(new int[] {2, 3, 4, 5, 2, 3}, 4, 2);
    PerplexityResult r = Scorer.perplexity(model, plan);
    double nll = Math.log(Math.exp(10) + TOK.vocabSize() - 1);
    assertEquals(5, r.scoredTokens());
    assertEquals(nll, r.meanNll(), 1e-12);
    assertEquals(Math.exp(nll), r.perplexity(), 1e-9);
  }

  @Test
  void perplexity_parallelWindows_sameResultAsSequential() throws Exception {
    // A model whose logits depend on the context, so windows differ.
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 16, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4);
    int[] stream = IntStream.range(0, 200).map(i -> 2 + (i * 7) % 4).toArray();
    ScoringPlan plan = ScoringPlan.slidingWindow(stream, 16, 5);
    ExecutorService pool = Executors.newFixedThreadPool(3);
    try {
      PerplexityResult sequential = Scorer.perplexity(model, plan);
      java.util.concurrent.ConcurrentLinkedQueue<Long> reported = new java.util.concurrent.ConcurrentLinkedQueue<>();
      PerplexityResult parallel = Scorer.perplexity(model, plan, pool, 3, (scored, total) -> {
        assertEquals(plan.scoredTokens(), total);
        reported.add(scored);
      });
      assertEquals(sequential, parallel);
      assertEquals(plan.windows().size(), reported.size(), "one report per window");
      assertEquals(plan.scoredTokens(), reported.stream().mapToLong(Long::longValue).max().orElse(0), "the last report is the total");
      assertEquals(plan.scoredTokens(), parallel.scoredTokens());
      assertEquals(0, model.openSequences());
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void negativeLogLikelihood_stableForLargeLogits() {
    float[] logits = {1000f, 1000f, -1000f};
    assertEquals(Math.log(2), Scorer.negativeLogLikelihood(logits, 0), 1e-12);
    assertEquals(2000 + Math.log(2), Scorer.negativeLogLikelihood(logits, 2), 1e-9);
  }

  @Test
  void perplexity_windowLongerThanContext_rejected() {
    FakeLanguageModel model = FakeLanguageModel.saying(TOK, 4);
    ScoringPlan plan = ScoringPlan.slidingWindow(new int[] {2, 3, 4, 5, 2, 3, 4}, 6, 3);
    assertThrows(InvalidRequestException.class, () -> Scorer.perplexity(model, plan));
    assertThrows(InvalidRequestException.class, () -> Scorer.perplexity(model, ScoringPlan.slidingWindow(new int[] {2}, 4, 2)));
  }
}
