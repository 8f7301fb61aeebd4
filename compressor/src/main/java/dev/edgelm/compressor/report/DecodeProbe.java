package dev.edgelm.compressor.report;

import dev.edgelm.engine.DecodeBenchmark;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import java.nio.file.Path;
import java.util.Locale;

/**
 * The program {@link DecodeSpeed} runs in a child JVM, so that each package's speed and peak
 * memory are measured in a process of its own: loads the package, runs {@link DecodeBenchmark} on a
 * fixed prompt and prints one JSON line with the medians and the process's peak resident set.
 *
 * <p>Arguments: {@code PACKAGE_DIR DECODE_TOKENS THREADS ROUNDS}. The first round warms up and is
 * not counted. Not an API: its output format is read by {@link DecodeSpeed} only.
 */
public final class DecodeProbe {
  static final String PROMPT = "Once upon a time, in a quiet town by the sea, there lived an old clockmaker who";

  private DecodeProbe() {}

  public static void main(String[] args) {
    Path dir = Path.of(args[0]);
    int decode = Integer.parseInt(args[1]);
    int threads = Integer.parseInt(args[2]);
    int rounds = Integer.parseInt(args[3]);
    long loadStart = System.nanoTime();
    try (DecoderModel model = DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      double loadMs = (System.nanoTime() - loadStart) / 1e6;
      int[] prompt = model.tokenizer().encodePrompt(PROMPT);
      int steps = Math.max(1, Math.min(decode, model.contextLength() - prompt.length - 1));
      DecodeBenchmark.Result r = DecodeBenchmark.run(model, prompt, steps, rounds, 1);
      System.out.printf(Locale.ROOT,
          "{\"decode_tokens_per_second\":%.3f,\"time_to_first_token_ms\":%.3f,\"prompt_tokens\":%d,\"decode_tokens\":%d,"
              + "\"threads\":%d,\"load_ms\":%.1f,\"peak_rss_bytes\":%d}%n",
          r.decodeTokensPerSecond(), r.timeToFirstTokenMs(), prompt.length, steps, threads, loadMs,
          Math.max(0, DecodeBenchmark.peakRssBytes()));
    }
  }
}
