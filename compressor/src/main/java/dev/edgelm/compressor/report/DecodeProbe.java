package dev.edgelm.compressor.report;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The program {@link DecodeSpeed} runs in a child JVM, so that each package's speed and peak
 * memory are measured in a process of its own: loads the package, then per round prefills a fixed
 * prompt and decodes greedily, timing each step; prints one JSON line with the median round and
 * the process's peak resident set (VmHWM).
 *
 * <p>Arguments: {@code PACKAGE_DIR DECODE_TOKENS THREADS ROUNDS}. The first round warms up and is
 * not counted. Not an API: its output format is read by {@link DecodeSpeed} only.
 */
public final class DecodeProbe {
  static final String PROMPT = "Once upon a time, in a quiet town by the sea, there lived an old clockmaker who";

  private DecodeProbe() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    int decode = Integer.parseInt(args[1]);
    int threads = Integer.parseInt(args[2]);
    int rounds = Integer.parseInt(args[3]);
    long loadStart = System.nanoTime();
    try (DecoderModel model = DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      double loadMs = (System.nanoTime() - loadStart) / 1e6;
      int[] prompt = model.tokenizer().encodePrompt(PROMPT);
      int steps = Math.max(1, Math.min(decode, model.contextLength() - prompt.length - 1));
      double[] tps = new double[rounds];
      double[] ttft = new double[rounds];
      for (int r = 0; r <= rounds; r++) {
        try (Sequence seq = model.newSequence()) {
          long t0 = System.nanoTime();
          float[] logits = seq.append(prompt);
          long t1 = System.nanoTime();
          for (int i = 0; i < steps; i++) {
            logits = seq.append(argmax(logits));
          }
          long t2 = System.nanoTime();
          if (r > 0) {
            ttft[r - 1] = (t1 - t0) / 1e6;
            tps[r - 1] = steps / ((t2 - t1) / 1e9);
          }
        }
      }
      System.out.printf(Locale.ROOT,
          "{\"decode_tokens_per_second\":%.3f,\"time_to_first_token_ms\":%.3f,\"prompt_tokens\":%d,\"decode_tokens\":%d,"
              + "\"threads\":%d,\"load_ms\":%.1f,\"peak_rss_bytes\":%d}%n",
          median(tps), median(ttft), prompt.length, steps, threads, loadMs, peakRss());
    }
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

  private static double median(double[] v) {
    double[] s = v.clone();
    Arrays.sort(s);
    return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  }

  /** VmHWM of this process in bytes, or 0 where /proc is not available. */
  static long peakRss() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | RuntimeException e) {
      // Not Linux: no peak RSS.
    }
    return 0;
  }
}
