package dev.edgelm.compressor.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.LanguageModel;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.tokenizer.Tokenizer;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

class VariantComparisonTest {
  private static final ExecutorService POOL = Executors.newFixedThreadPool(2);

  @AfterAll
  static void shutdown() {
    POOL.shutdownNow();
  }

  /** Logits after token t are a fixed function of (t, seed): enough to compare two "models" exactly. */
  private record TableModel(int vocab, long seed) implements LanguageModel {
    float[] row(int token) {
      float[] r = new float[vocab];
      java.util.Random random = new java.util.Random(seed * 1_000_003L + token);
      for (int v = 0; v < vocab; v++) {
        r[v] = (float) (random.nextGaussian() * 2);
      }
      return r;
    }

    @Override
    public Sequence newSequence() {
      return new Sequence() {
        int length;

        @Override
        public void append(int[] tokens, int firstRow, LogitsConsumer rows) {
          for (int i = firstRow; i < tokens.length; i++) {
            rows.accept(i, row(tokens[i]));
          }
          length += tokens.length;
        }

        @Override
        public int length() {
          return length;
        }

        @Override
        public int contextLength() {
          return 64;
        }

        @Override
        public void reset() {
          length = 0;
        }

        @Override
        public void close() {}
      };
    }

    @Override
    public int contextLength() {
      return 64;
    }

    @Override
    public int vocabSize() {
      return vocab;
    }

    @Override
    public Tokenizer tokenizer() {
      throw new UnsupportedOperationException("plans here are built from ids");
    }
  }

  private static double[] logSoftmax(float[] x) {
    double max = Double.NEGATIVE_INFINITY;
    for (float v : x) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : x) {
      sum += Math.exp(v - max);
    }
    double lse = max + Math.log(sum);
    double[] out = new double[x.length];
    for (int i = 0; i < x.length; i++) {
      out[i] = x[i] - lse;
    }
    return out;
  }

  private static int argmax(float[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }

  @Test
  void compare_matchesDirectComputation_andTheBaseAgainstItselfIsPerfect() {
    int vocab = 50;
    TableModel base = new TableModel(vocab, 1);
    TableModel variant = new TableModel(vocab, 2);
    int[] stream = new int[200];
    for (int i = 0; i < stream.length; i++) {
      stream[i] = (i * 7 + i / 3) % vocab;
    }
    ScoringPlan plan = ScoringPlan.slidingWindow(stream, 32, 16);
    VariantComparison.Result r = VariantComparison.compare(base, List.of(variant, base), plan, POOL, 2);

    double nllBase = 0;
    double nllVariant = 0;
    double kl = 0;
    int agree = 0;
    for (int t = 1; t < stream.length; t++) {
      double[] p = logSoftmax(base.row(stream[t - 1]));
      double[] q = logSoftmax(variant.row(stream[t - 1]));
      nllBase -= p[stream[t]];
      nllVariant -= q[stream[t]];
      for (int v = 0; v < vocab; v++) {
        kl += Math.exp(p[v]) * (p[v] - q[v]);
      }
      agree += argmax(base.row(stream[t - 1])) == argmax(variant.row(stream[t - 1])) ? 1 : 0;
    }
    int n = stream.length - 1;
    assertEquals(n, r.base().tokens());
    assertEquals(Math.exp(nllBase / n), r.base().perplexity(), 1e-9 * Math.exp(nllBase / n));
    VariantComparison.Scores v = r.variants().get(0);
    assertEquals(Math.exp(nllVariant / n), v.perplexity(), 1e-6 * v.perplexity());
    assertEquals(kl / n, v.klDivergence(), 1e-5);
    assertEquals((double) agree / n, v.top1Agreement(), 1e-12);

    VariantComparison.Scores self = r.variants().get(1);
    assertEquals(r.base().perplexity(), self.perplexity(), 1e-9);
    assertEquals(1.0, self.top1Agreement());
    assertEquals(0.0, self.klDivergence(), 1e-6);
  }

  @Test
  void compare_otherVocabulary_isRefused() {
    ScoringPlan plan = ScoringPlan.slidingWindow(new int[] {1, 2, 3, 4}, 4, 2);
    assertThrows(InvalidRequestException.class,
        () -> VariantComparison.compare(new TableModel(10, 1), List.of(new TableModel(11, 1)), plan, POOL, 1));
  }
}
