package dev.edgelm.compressor.report;

import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.LanguageModel;
import dev.edgelm.engine.Scorer;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.ScoringProgress;
import dev.edgelm.engine.ScoringWindow;
import dev.edgelm.engine.Sequence;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Scores a base model and any number of variants of it on the same {@link ScoringPlan}, row by
 * row: each variant's perplexity, how often its most likely next token is the base's (top-1
 * agreement), and the mean KL(base ‖ variant) of the next-token distributions.
 *
 * <p>Method-agnostic: a variant is any {@link LanguageModel} with the base's vocabulary. Each window
 * is run once through the base; its rows are kept as probabilities while the same window runs
 * through every variant, so the base costs one pass however many variants there are. Per row the
 * base costs one exponential per vocabulary entry, each variant one more (its log-sum-exp) and a
 * dot product: KL(p‖q) = Σ p·log p − Σ p·x_q + logsumexp(x_q).
 *
 * <p>Windows are spread over {@code parallelism} workers, each with its own sequences; per-window
 * sums are added in window order, so results do not depend on the parallelism.
 */
public final class VariantComparison {
  /**
   * One model's scores on the plan.
   *
   * @param top1Agreement fraction of scored positions where this model's argmax is the base's (1 for the base)
   * @param klDivergence mean KL(base ‖ this model) per scored position, nats (0 for the base)
   */
  public record Scores(long tokens, double meanNll, double perplexity, double top1Agreement, double klDivergence) {}

  /** The base's scores and each variant's, in the order given. */
  public record Result(Scores base, List<Scores> variants, String protocol) {}

  private VariantComparison() {}

  /**
   * @throws InvalidRequestException when the plan scores no tokens or a variant's vocabulary differs from the base's
   */
  public static Result compare(LanguageModel base, List<? extends LanguageModel> variants, ScoringPlan plan,
      Executor executor, int parallelism) {
    return compare(base, variants, plan, executor, parallelism, ScoringProgress.NONE);
  }

  /** As {@link #compare(LanguageModel, List, ScoringPlan, Executor, int)}, telling {@code progress} after each window. */
  public static Result compare(LanguageModel base, List<? extends LanguageModel> variants, ScoringPlan plan,
      Executor executor, int parallelism, ScoringProgress progress) {
    if (plan.scoredTokens() == 0) {
      throw new InvalidRequestException("nothing to score: the text has fewer than 2 tokens");
    }
    for (LanguageModel v : variants) {
      if (v.vocabSize() != base.vocabSize()) {
        throw new InvalidRequestException("a variant has " + v.vocabSize() + " vocabulary entries, the base " + base.vocabSize()
            + "; variants must share the base's tokenizer");
      }
    }
    List<ScoringWindow> windows = plan.windows();
    int models = variants.size() + 1;
    // [window][model][nll, agree, kl]
    double[][][] sums = new double[windows.size()][models][3];
    long[] counts = new long[windows.size()];
    AtomicInteger next = new AtomicInteger();
    AtomicLong scored = new AtomicLong();
    Runnable worker = () -> {
      List<Sequence> seqs = new ArrayList<>();
      try {
        seqs.add(base.newSequence());
        for (LanguageModel v : variants) {
          seqs.add(v.newSequence());
        }
        WindowScorer scorer = new WindowScorer(base.vocabSize());
        for (int i = next.getAndIncrement(); i < windows.size(); i = next.getAndIncrement()) {
          counts[i] = scorer.score(seqs, i, windows.get(i), sums[i]);
          progress.scored(scored.addAndGet(counts[i]), plan.scoredTokens());
        }
      } catch (RuntimeException e) {
        next.set(windows.size());
        throw e;
      } finally {
        seqs.forEach(Sequence::close);
      }
    };
    List<CompletableFuture<Void>> workers = new ArrayList<>();
    for (int w = 0; w < Math.min(Math.max(1, parallelism), windows.size()); w++) {
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
    long tokens = 0;
    double[][] total = new double[models][3];
    for (int i = 0; i < windows.size(); i++) {
      tokens += counts[i];
      for (int m = 0; m < models; m++) {
        for (int s = 0; s < 3; s++) {
          total[m][s] += sums[i][m][s];
        }
      }
    }
    List<Scores> out = new ArrayList<>();
    for (int m = 0; m < models; m++) {
      double nll = total[m][0] / tokens;
      out.add(new Scores(tokens, nll, Math.exp(nll), total[m][1] / tokens, total[m][2] / tokens));
    }
    return new Result(out.get(0), List.copyOf(out.subList(1, models)), plan.protocol());
  }

  /** One worker's buffers: the base rows of the current window as probabilities. */
  private static final class WindowScorer {
    private final int vocab;
    private final List<float[]> probs = new ArrayList<>();
    private double[] negEntropy = new double[0];
    private int[] argmax = new int[0];
    private int rows;

    WindowScorer(int vocab) {
      this.vocab = vocab;
    }

    /** Scores window {@code index} with every model; adds [nll, agreement, kl] per model into {@code sums}. */
    long score(List<Sequence> seqs, int index, ScoringWindow window, double[][] sums) {
      int targets = window.targets();
      while (probs.size() < targets) {
        probs.add(new float[vocab]);
      }
      if (negEntropy.length < targets) {
        negEntropy = new double[targets];
        argmax = new int[targets];
      }
      rows = 0;
      Scorer.scoreWindow(seqs.get(0), index, window, (w, position, target, logits) -> {
        int r = rows++;
        float[] p = probs.get(r);
        float max = Float.NEGATIVE_INFINITY;
        int best = 0;
        for (int t = 0; t < vocab; t++) {
          if (logits[t] > max) {
            max = logits[t];
            best = t;
          }
        }
        double sum = 0;
        for (int t = 0; t < vocab; t++) {
          double e = Math.exp(logits[t] - (double) max);
          p[t] = (float) e;
          sum += e;
        }
        double lse = max + Math.log(sum);
        float inv = (float) (1 / sum);
        double h = 0;
        for (int t = 0; t < vocab; t++) {
          float q = p[t] * inv;
          p[t] = q;
          if (q > 0) {
            h += q * (logits[t] - lse);
          }
        }
        negEntropy[r] = h;
        argmax[r] = best;
        sums[0][0] += lse - logits[target];
        sums[0][1] += 1;
      });
      for (int m = 1; m < seqs.size(); m++) {
        double[] s = sums[m];
        int[] row = {0};
        Scorer.scoreWindow(seqs.get(m), index, window, (w, position, target, logits) -> {
          int r = row[0]++;
          float[] p = probs.get(r);
          float max = Float.NEGATIVE_INFINITY;
          int best = 0;
          for (int t = 0; t < vocab; t++) {
            if (logits[t] > max) {
              max = logits[t];
              best = t;
            }
          }
          double sum = 0;
          double cross = 0;
          for (int t = 0; t < vocab; t++) {
            sum += Math.exp(logits[t] - (double) max);
            cross += p[t] * logits[t];
          }
          double lse = max + Math.log(sum);
          s[0] += lse - logits[target];
          s[1] += best == argmax[r] ? 1 : 0;
          s[2] += Math.max(0, negEntropy[r] - cross + lse);
        });
      }
      return rows;
    }
  }
}
