package dev.edgelm.engine;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * Measures a model's batch-1 speed the way a user feels it: per round, prefill a prompt (time to
 * first token) and then decode greedily for a fixed number of steps, end of sequence or not
 * (decode tokens per second); the median of the timed rounds, after warm-up rounds.
 *
 * <p>For memory figures, run one model per process: {@link #peakRssBytes()} is the whole process's
 * peak. Threading: runs on the calling thread.
 */
public final class DecodeBenchmark {
  /**
   * Medians over the timed rounds.
   *
   * @param timeToFirstTokenMs prefill of the prompt, logits of its last position
   * @param decodeTokensPerSecond decode steps after the prefill per second
   */
  public record Result(double timeToFirstTokenMs, double decodeTokensPerSecond, int promptTokens, int decodeTokens, int rounds) {}

  private DecodeBenchmark() {}

  /**
   * @param decodeSteps greedy steps after the prefill, at least 1; prompt + steps must fit the context
   * @throws InvalidRequestException when the prompt and the steps do not fit the model's context
   */
  public static Result run(LanguageModel model, int[] prompt, int decodeSteps, int rounds, int warmupRounds) {
    if (decodeSteps < 1 || rounds < 1 || warmupRounds < 0 || prompt.length == 0) {
      throw new InvalidRequestException("a decode benchmark needs a prompt, at least one step and one round");
    }
    if (prompt.length + decodeSteps > model.contextLength()) {
      throw new InvalidRequestException("prompt of " + prompt.length + " tokens + " + decodeSteps
          + " decode steps exceeds the model's context length " + model.contextLength());
    }
    double[] ttft = new double[rounds];
    double[] tps = new double[rounds];
    for (int r = -warmupRounds; r < rounds; r++) {
      try (Sequence s = model.newSequence()) {
        long t0 = System.nanoTime();
        float[] logits = s.append(prompt);
        long t1 = System.nanoTime();
        for (int i = 0; i < decodeSteps; i++) {
          logits = s.append(argmax(logits));
        }
        long t2 = System.nanoTime();
        if (r >= 0) {
          ttft[r] = (t1 - t0) / 1e6;
          tps[r] = decodeSteps / ((t2 - t1) / 1e9);
        }
      }
    }
    return new Result(median(ttft), median(tps), prompt.length, decodeSteps, rounds);
  }

  /** Peak resident memory of this process (VmHWM), or -1 where the OS does not tell (not Linux). */
  public static long peakRssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: no figure.
    }
    return -1;
  }

  /** This machine in one line for benchmark records: CPU model, cores, OS and architecture. */
  public static String hostDescription() {
    String cpu = System.getProperty("os.arch");
    try {
      cpu = Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
          .map(l -> l.substring(l.indexOf(':') + 1).strip()).findFirst().orElse(cpu);
    } catch (IOException | RuntimeException e) {
      // Not Linux: the architecture alone.
    }
    return String.format(Locale.ROOT, "%s, %d cores, %s %s, Java %d", cpu, Runtime.getRuntime().availableProcessors(),
        System.getProperty("os.name"), System.getProperty("os.arch"), Runtime.version().feature());
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

  private static double median(double[] values) {
    double[] v = values.clone();
    Arrays.sort(v);
    return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
  }
}
