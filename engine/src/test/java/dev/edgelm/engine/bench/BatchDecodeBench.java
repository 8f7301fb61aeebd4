package dev.edgelm.engine.bench;

import dev.edgelm.engine.BatchDecoder;
import dev.edgelm.engine.BatchOptions;
import dev.edgelm.engine.DecodeBenchmark;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import java.lang.management.ManagementFactory;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * Aggregate greedy decode speed of N concurrent sequences, batched ({@link BatchDecoder#step}: one
 * ONNX Runtime call per step for all rows) against one sequence per call (today's daemon path: N
 * {@link Sequence}s on one session stepped by two worker threads, as {@code generation.workers = 2}),
 * in one interleaved run (per round, for each N, every mode once); then time to first token of a
 * 528-token prompt whose 512-token prefix was served before (the row still resident, and restored
 * from the block cache) against a cold one. A program, not a test; medians over the rounds.
 *
 * <pre>
 * BatchDecodeBench &lt;package dir&gt;... [-Drows=1,2,4,8,16] [-Dsteps=32] [-Drounds=3]
 * </pre>
 *
 * Modes: {@code per-row} (intra-op threads 1, two workers), {@code batched/1} (one thread, intra-op
 * 1), {@code batched/2} (one thread, intra-op 2: the batch's larger matrix products can use the
 * second core that the per-row path uses through its second worker). Prompts are 16..23 random
 * ids per row (rows of different lengths), prefilled before the timed steps. Besides wall-clock
 * rates it reports tokens per CPU-second of the process, which a machine loaded by others distorts
 * least.
 */
public final class BatchDecodeBench {
  private BatchDecodeBench() {}

  public static void main(String[] args) throws Exception {
    int[] rowCounts = Arrays.stream(System.getProperty("rows", "1,2,4,8,16").split(",")).mapToInt(Integer::parseInt).toArray();
    int steps = Integer.getInteger("steps", 32);
    int rounds = Integer.getInteger("rounds", 3);
    System.out.printf(Locale.ROOT, "%s; load average %.2f; rows %s, %d steps, %d rounds%n", DecodeBenchmark.hostDescription(),
        load(), Arrays.toString(rowCounts), steps, rounds);
    for (String dir : args) {
      ModelPackage pkg = ModelPackage.open(Path.of(dir));
      try (DecoderModel one = DecoderModel.load(pkg, SessionSettings.DEFAULTS, new IdTokenizer());
          DecoderModel two = DecoderModel.load(pkg, SessionSettings.DEFAULTS.withIntraOpThreads(2), new IdTokenizer())) {
        throughput(dir, one, two, rowCounts, steps, rounds);
        firstToken(dir, one, rounds);
      }
    }
    System.out.printf(Locale.ROOT, "load average at the end %.2f%n", load());
  }

  private static void throughput(String dir, DecoderModel one, DecoderModel two, int[] rowCounts, int steps, int rounds)
      throws Exception {
    int max = Arrays.stream(rowCounts).max().orElse(1);
    String[] modes = {"per-row", "batched/1", "batched/2"};
    double[][][] tps = new double[rowCounts.length][modes.length][rounds];
    double[][][] perCpu = new double[rowCounts.length][modes.length][rounds];
    try (BatchDecoder b1 = BatchDecoder.open(one, BatchOptions.DEFAULTS.withMaxRows(max).withPrefixCacheBytes(0));
        BatchDecoder b2 = BatchDecoder.open(two, BatchOptions.DEFAULTS.withMaxRows(max).withPrefixCacheBytes(0))) {
      ExecutorService workers = Executors.newFixedThreadPool(2);
      try {
        perRow(one, workers, prompts(2), 4); // warm-up
        batched(b1, prompts(2), 4);
        batched(b2, prompts(2), 4);
        for (int round = 0; round < rounds; round++) {
          for (int n = 0; n < rowCounts.length; n++) {
            int[][] prompts = prompts(rowCounts[n]);
            double[][] r = {perRow(one, workers, prompts, steps), batched(b1, prompts, steps), batched(b2, prompts, steps)};
            for (int k = 0; k < modes.length; k++) {
              tps[n][k][round] = r[k][0];
              perCpu[n][k][round] = r[k][1];
            }
          }
        }
      } finally {
        workers.shutdown();
      }
    }
    System.out.printf(Locale.ROOT, "%n%s: aggregate decode tok/s (median of %d) and mean inter-token latency per stream%n", dir, rounds);
    System.out.println("| streams | per-row tok/s | batched/1 tok/s | batched/2 tok/s | per-row ITL ms | batched/2 ITL ms |");
    System.out.println("|---|---|---|---|---|---|");
    double[] base = new double[modes.length];
    for (int n = 0; n < rowCounts.length; n++) {
      double[] m = new double[modes.length];
      for (int k = 0; k < modes.length; k++) {
        m[k] = median(tps[n][k]);
        if (n == 0) {
          base[k] = m[k];
        }
      }
      System.out.printf(Locale.ROOT, "| %d | %.1f (x%.2f) | %.1f (x%.2f) | %.1f (x%.2f) | %.1f | %.1f |%n", rowCounts[n], m[0], m[0] / base[0],
          m[1], m[1] / base[0], m[2], m[2] / base[0], 1000 * rowCounts[n] / m[0], 1000 * rowCounts[n] / m[2]);
    }
    // CPU time is what a loaded machine distorts least: tokens per second of this process's CPU time.
    System.out.printf(Locale.ROOT, "%n%s: tokens per CPU-second of this process (median of %d), ratio to per-row with 1 stream%n", dir, rounds);
    System.out.println("| streams | per-row | batched/1 | batched/2 |");
    System.out.println("|---|---|---|---|");
    double cpuBase = median(perCpu[0][0]);
    for (int n = 0; n < rowCounts.length; n++) {
      System.out.printf(Locale.ROOT, "| %d | %.1f (x%.2f) | %.1f (x%.2f) | %.1f (x%.2f) |%n", rowCounts[n], median(perCpu[n][0]),
          median(perCpu[n][0]) / cpuBase, median(perCpu[n][1]), median(perCpu[n][1]) / cpuBase, median(perCpu[n][2]),
          median(perCpu[n][2]) / cpuBase);
    }
  }

  private static long cpuNanos() {
    return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
  }

  /** Tokens per second and per CPU-second of {@code steps} greedy steps of every prompt, one sequence per call on two workers. */
  private static double[] perRow(DecoderModel model, ExecutorService workers, int[][] prompts, int steps) throws Exception {
    int n = prompts.length;
    Sequence[] seqs = new Sequence[n];
    int[] next = new int[n];
    try {
      for (int i = 0; i < n; i++) {
        seqs[i] = model.newSequence();
        next[i] = argmax(seqs[i].append(prompts[i]));
      }
      long c0 = cpuNanos();
      long t0 = System.nanoTime();
      List<Future<?>> done = new ArrayList<>();
      for (int w = 0; w < 2; w++) {
        int worker = w;
        done.add(workers.submit(() -> {
          for (int s = 0; s < steps; s++) {
            for (int i = worker; i < n; i += 2) {
              next[i] = argmax(seqs[i].append(next[i]));
            }
          }
        }));
      }
      for (Future<?> f : done) {
        f.get();
      }
      return rates(n * steps, t0, c0);
    } finally {
      for (Sequence s : seqs) {
        if (s != null) {
          s.close();
        }
      }
    }
  }

  /** Tokens per second and per CPU-second of {@code steps} batched steps over one row per prompt. */
  private static double[] batched(BatchDecoder batch, int[][] prompts, int steps) {
    int n = prompts.length;
    List<BatchDecoder.Row> rows = new ArrayList<>();
    int[] next = new int[n];
    try {
      for (int i = 0; i < n; i++) {
        BatchDecoder.Row r = batch.admit(prompts[i]);
        rows.add(r);
        while (!batch.prefillChunk(r, prompts[i], 64)) {
          // next chunk
        }
        next[i] = argmax(r.logits());
      }
      long c0 = cpuNanos();
      long t0 = System.nanoTime();
      for (int s = 0; s < steps; s++) {
        batch.step(rows, next);
        for (int i = 0; i < n; i++) {
          next[i] = argmax(rows.get(i).logits());
        }
      }
      return rates(n * steps, t0, c0);
    } finally {
      rows.forEach(BatchDecoder.Row::close);
    }
  }

  /**
   * Time to first token of {@code prefix + suffix} (512 + 16 tokens): cold (one sequence per call, and a batch
   * row with nothing to reuse), warm with the prefix's row still resident, and warm from the block cache.
   */
  private static void firstToken(String dir, DecoderModel model, int rounds) {
    SplittableRandom random = new SplittableRandom(512);
    int vocab = Math.min(model.vocabSize(), 50000);
    double[][] ms = new double[4][rounds];
    for (int round = -1; round < rounds; round++) {
      int[] prefix = random.ints(512, 1, vocab).toArray();
      int[] first = concat(prefix, random.ints(16, 1, vocab).toArray());
      int[] second = concat(prefix, random.ints(16, 1, vocab).toArray());
      long t0 = System.nanoTime();
      try (Sequence s = model.newSequence()) {
        s.append(second);
      }
      long t1 = System.nanoTime();
      try (BatchDecoder batch = BatchDecoder.open(model, BatchOptions.DEFAULTS.withMaxRows(1))) {
        long t2 = System.nanoTime();
        prefill(batch, first).close(); // cold, in the batch
        long t3 = System.nanoTime();
        prefill(batch, second).close(); // the free row holds 512 shared tokens: reused in place
        long t4 = System.nanoTime();
        prefill(batch, random.ints(40, 1, vocab).toArray()).close(); // overwrites the only row
        long t5 = System.nanoTime();
        BatchDecoder.Row restored = prefill(batch, first); // from the block cache
        long t6 = System.nanoTime();
        if (restored.cachedPromptTokens() != 512) {
          throw new IllegalStateException("expected 512 cached tokens, got " + restored.cachedPromptTokens());
        }
        restored.close();
        if (round >= 0) {
          ms[0][round] = (t1 - t0) / 1e6;
          ms[1][round] = (t3 - t2) / 1e6;
          ms[2][round] = (t4 - t3) / 1e6;
          ms[3][round] = (t6 - t5) / 1e6;
        }
      }
    }
    double cold = median(ms[1]);
    System.out.printf(Locale.ROOT, "%n%s: time to first token, 528-token prompt (median of %d)%n", dir, rounds);
    System.out.printf(Locale.ROOT, "| one sequence per call, cold | batch row, cold | 512-token prefix resident in a free row | 512-token prefix from the block cache |%n");
    System.out.printf(Locale.ROOT, "|---|---|---|---|%n| %.1f ms | %.1f ms | %.1f ms (%.1f %% of cold) | %.1f ms (%.1f %% of cold) |%n",
        median(ms[0]), cold, median(ms[2]), 100 * median(ms[2]) / cold, median(ms[3]), 100 * median(ms[3]) / cold);
  }

  private static double[] rates(int tokens, long wallStart, long cpuStart) {
    double wall = (System.nanoTime() - wallStart) / 1e9;
    double cpu = (cpuNanos() - cpuStart) / 1e9;
    return new double[] {tokens / wall, tokens / cpu};
  }

  private static BatchDecoder.Row prefill(BatchDecoder batch, int[] prompt) {
    BatchDecoder.Row r = batch.admit(prompt);
    while (!batch.prefillChunk(r, prompt, prompt.length)) {
      // one chunk does it
    }
    return r;
  }

  /** One prompt per row, 16..23 ids (rows of different lengths), the same for every mode of a round. */
  private static int[][] prompts(int n) {
    SplittableRandom random = new SplittableRandom(n);
    int[][] p = new int[n][];
    for (int i = 0; i < n; i++) {
      p[i] = random.ints(16 + i % 8, 1, 1000).toArray();
    }
    return p;
  }

  private static double load() {
    return ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage();
  }

  private static int[] concat(int[] x, int[] y) {
    int[] out = Arrays.copyOf(x, x.length + y.length);
    System.arraycopy(y, 0, out, x.length, y.length);
    return out;
  }

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
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
}
