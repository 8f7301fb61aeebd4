package dev.edgelm.engine;

import java.util.Arrays;
import java.util.List;

/**
 * Runs a model over the windows of a {@link ScoringPlan} and hands each scored target's logits row
 * to a consumer; {@link #perplexity} is one such consumer, and a model-vs-model comparison (KL,
 * top-1 agreement) is another, built on {@link #scoreWindow} so both models see the same windows.
 *
 * <p>Each window runs in a fresh (reset) sequence on the calling thread. Only the rows that predict
 * scored targets are read, and the window's last token is never fed (it is only a target).
 * Errors: a window longer than the model's context throws {@link InvalidRequestException};
 * runtime failures surface as {@link RuntimeFailureException}.
 */
public final class Scorer {
  private Scorer() {}

  /** Scores every window of {@code plan} in order. */
  public static void score(LanguageModel model, ScoringPlan plan, ScoredRowConsumer rows) {
    List<ScoringWindow> windows = plan.windows();
    try (Sequence sequence = model.newSequence()) {
      for (int i = 0; i < windows.size(); i++) {
        scoreWindow(sequence, i, windows.get(i), rows);
      }
    }
  }

  /** Resets {@code sequence} and scores one window, reporting it as window {@code index}. */
  public static void scoreWindow(Sequence sequence, int index, ScoringWindow window, ScoredRowConsumer rows) {
    int[] tokens = window.tokens();
    if (tokens.length - 1 > sequence.contextLength()) {
      throw new InvalidRequestException("scoring window " + index + " has " + tokens.length + " tokens but the model's context is "
          + sequence.contextLength() + " tokens");
    }
    sequence.reset();
    int[] inputs = Arrays.copyOf(tokens, tokens.length - 1);
    sequence.append(inputs, window.firstTarget() - 1, (row, logits) -> rows.accept(index, row + 1, tokens[row + 1], logits));
  }

  /**
   * Perplexity over every scored target of {@code plan}.
   *
   * @throws InvalidRequestException when the plan scores no tokens
   */
  public static PerplexityResult perplexity(LanguageModel model, ScoringPlan plan) {
    if (plan.scoredTokens() == 0) {
      throw new InvalidRequestException("nothing to score: the text has fewer than 2 tokens");
    }
    double[] sum = new double[1];
    long[] count = new long[1];
    score(model, plan, (window, position, target, logits) -> {
      sum[0] += negativeLogLikelihood(logits, target);
      count[0]++;
    });
    double mean = sum[0] / count[0];
    return new PerplexityResult(count[0], mean, Math.exp(mean));
  }

  /** {@code -log softmax(logits)[target]}, natural log, computed with log-sum-exp in double precision. */
  public static double negativeLogLikelihood(float[] logits, int target) {
    return Logits.logSumExp(logits) - logits[target];
  }
}
