package dev.edgelm.engine.bench;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.PerplexityResult;
import dev.edgelm.engine.Scorer;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.SessionSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Wall time of sliding-window perplexity for a package and a text, for a given split of the cores
 * between ORT's intra-op threads and parallel windows. A program, not a test; run by
 * {@code mvn -B -q -pl engine -am -Pbench-runtime test-compile}, or by hand:
 *
 * <pre>
 * PerplexityBench &lt;package dir&gt; &lt;text file&gt; [intraOpThreads=1] [parallelWindows=1] [window=context] [stride=window/2]
 * </pre>
 */
public final class PerplexityBench {
  private PerplexityBench() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    String text = Files.readString(Path.of(args[1]));
    int threads = args.length > 2 ? Integer.parseInt(args[2]) : 1;
    int workers = args.length > 3 ? Integer.parseInt(args[3]) : 1;
    SessionSettings settings = SessionSettings.DEFAULTS.withIntraOpThreads(threads);
    ExecutorService pool = Executors.newFixedThreadPool(workers);
    try (DecoderModel model = DecoderModel.load(ModelPackage.open(dir), settings)) {
      int window = args.length > 4 ? Integer.parseInt(args[4]) : model.contextLength();
      int stride = args.length > 5 ? Integer.parseInt(args[5]) : window / 2;
      long t0 = System.nanoTime();
      ScoringPlan plan = ScoringPlan.slidingWindow(model.tokenizer(), text, window, stride);
      long t1 = System.nanoTime();
      PerplexityResult r = Scorer.perplexity(model, plan, pool, workers);
      long t2 = System.nanoTime();
      System.out.printf("intra-op %d, parallel windows %d: %s%n  encode %.1f s, score %.1f s: %d targets, mean NLL %.6f, perplexity %.3f%n",
          threads, workers, plan.protocol(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, r.scoredTokens(), r.meanNll(), r.perplexity());
    } finally {
      pool.shutdownNow();
    }
  }
}
