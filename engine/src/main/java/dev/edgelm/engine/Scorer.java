package dev.edgelm.engine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Runs a model over the windows of a {@link ScoringPlan} and hands each scored target's logits row
 * to a consumer; {@link #perplexity} is one such consumer, and a model-vs-model comparison (KL,
 * top-1 agreement) is another, built on {@link #scoreWindow} so both models see the same windows.
 *
 * <p>Each window runs in a fresh (reset) sequence, on the calling thread unless an executor is
 * given. Only the rows that predict
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
   * Perplexity over every scored target of {@code plan}, on the calling thread.
   *
   * @throws InvalidRequestException when the plan scores no tokens
   */
  public static PerplexityResult perplexity(LanguageModel model, ScoringPlan plan) {
    return perplexity(model, plan, Runnable::run, 1);
  }

  /**
   * Perplexity over every scored target of {@code plan}, scoring up to {@code parallelism} windows
   * at once on {@code executor}, each in its own sequence. Windows are independent, so on a
   * multi-core host this overlaps one window's model run with another's log-sum-exp (which costs
   * about as much as the model for a large vocabulary). The result does not depend on
   * {@code parallelism}: per-window sums are added in window order.
   *
   * @throws InvalidRequestException when the plan scores no tokens
   */
  public static PerplexityResult perplexity(LanguageModel model, ScoringPlan plan, Executor executor, int parallelism) {
    return perplexity(model, plan, executor, parallelism, ScoringProgress.NONE);
  }

  /** As {@link #perplexity(LanguageModel, ScoringPlan, Executor, int)}, telling {@code progress} after each window. */
  public static PerplexityResult perplexity(LanguageModel model, ScoringPlan plan, Executor executor, int parallelism,
      ScoringProgress progress) {
    if (parallelism < 1) {
      throw new IllegalArgumentException("parallelism must be >= 1, got " + parallelism);
    }
    if (plan.scoredTokens() == 0) {
      throw new InvalidRequestException("nothing to score: the text has fewer than 2 tokens");
    }
    List<ScoringWindow> windows = plan.windows();
    double[] windowNll = new double[windows.size()];
    long[] windowCount = new long[windows.size()];
    AtomicInteger next = new AtomicInteger();
    AtomicLong scored = new AtomicLong();
    Runnable worker = () -> {
      try (Sequence sequence = model.newSequence()) {
        for (int i = next.getAndIncrement(); i < windows.size(); i = next.getAndIncrement()) {
          scoreWindow(sequence, i, windows.get(i), (window, position, target, logits) -> {
            windowNll[window] += negativeLogLikelihood(logits, target);
            windowCount[window]++;
          });
          progress.scored(scored.addAndGet(windowCount[i]), plan.scoredTokens());
        }
      } catch (RuntimeException e) {
        next.set(windows.size()); // the other workers stop after their current window
        throw e;
      }
    };
    List<CompletableFuture<Void>> workers = new ArrayList<>();
    for (int w = 0; w < Math.min(parallelism, windows.size()); w++) {
      workers.add(CompletableFuture.runAsync(worker, executor));
    }
    try {
      CompletableFuture.allOf(workers.toArray(CompletableFuture[]::new)).join();
    } catch (CompletionException e) {
      if (e.getCause() instanceof RuntimeException cause) {
        throw cause;
      }
      throw e;
    }
    double sum = 0;
    long count = 0;
    for (int i = 0; i < windows.size(); i++) {
      sum += windowNll[i];
      count += windowCount[i];
    }
    double mean = sum / count;
    return new PerplexityResult(count, mean, Math.exp(mean));
  }

  /** {@code -log softmax(logits)[target]}, natural log, computed with log-sum-exp in double precision. */
  public static double negativeLogLikelihood(float[] logits, int target) {
    return Logits.logSumExp(logits) - logits[target];
  }
}
