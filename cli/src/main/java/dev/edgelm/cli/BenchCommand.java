package dev.edgelm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Measures a package's batch-1 speed: time to first token for a prompt of N tokens (prefill plus
 * the first decode step's sampling), then decode tokens per second over D greedy steps (EOS does
 * not stop it), repeated and summarised by the median; and the process's peak resident memory.
 * Run one model per process so the peak RSS is that model's.
 */
@Command(mixinStandardHelpOptions = true, name = "bench", description = {
    "Measure a package's time to first token, decode tokens/s and peak memory (one model per process).",
    "The prompt is N random token ids; decoding is greedy for exactly D tokens."})
final class BenchCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model package directory.")
  Path model;

  @Option(names = "--prompt-tokens", defaultValue = "128", description = "Prompt length N (default: ${DEFAULT-VALUE}).")
  int promptTokens;

  @Option(names = "--decode-tokens", defaultValue = "128", description = "Tokens D to decode per run (default: ${DEFAULT-VALUE}).")
  int decodeTokens;

  @Option(names = "--threads", defaultValue = "1", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--runs", defaultValue = "3", description = "Measured runs; the median is reported (default: ${DEFAULT-VALUE}).")
  int runs;

  @Option(names = "--warmup", defaultValue = "1", description = "Unmeasured runs first (default: ${DEFAULT-VALUE}).")
  int warmup;

  @Option(names = "--json", description = "Print the result as one JSON object.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    if (promptTokens < 1 || decodeTokens < 1 || runs < 1 || warmup < 0 || threads < 0) {
      throw new ParameterException(spec.commandLine(), "--prompt-tokens, --decode-tokens and --runs must be at least 1");
    }
    long loadStart = System.nanoTime();
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(model), SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      double loadMs = (System.nanoTime() - loadStart) / 1e6;
      if (promptTokens + decodeTokens > m.contextLength()) {
        throw new ParameterException(spec.commandLine(), "--prompt-tokens + --decode-tokens = " + (promptTokens + decodeTokens)
            + " exceeds the model's context length " + m.contextLength());
      }
      int[] prompt = new SplittableRandom(42).ints(promptTokens, 0, m.tokenizer().vocabSize()).toArray();
      double[] ttft = new double[runs];
      double[] decode = new double[runs];
      for (int r = -warmup; r < runs; r++) {
        double[] one = run(m, prompt);
        if (r >= 0) {
          ttft[r] = one[0];
          decode[r] = one[1];
        }
      }
      print(m, loadMs, median(ttft), median(decode), peakRssBytes());
    }
    return ExitCodes.OK;
  }

  /** One run: {time to first token in ms, decode tokens per second}. */
  private double[] run(DecoderModel m, int[] prompt) {
    try (Sequence s = m.newSequence()) {
      long t0 = System.nanoTime();
      int next = argmax(s.append(prompt));
      long t1 = System.nanoTime();
      for (int i = 1; i < decodeTokens; i++) {
        next = argmax(s.append(next));
      }
      long t2 = System.nanoTime();
      double perSecond = decodeTokens > 1 ? (decodeTokens - 1) / ((t2 - t1) / 1e9) : 0;
      return new double[] {(t1 - t0) / 1e6, perSecond};
    }
  }

  private void print(DecoderModel m, double loadMs, double ttftMs, double tokensPerSecond, long peakRss) {
    PrintStream out = GenerateCommand.utf8Stdout();
    String variant = m.descriptor().getId().isEmpty() ? model.getFileName().toString() : m.descriptor().getId();
    if (json) {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("model", model.toString());
      o.put("variant", variant);
      o.put("threads", threads);
      o.put("prompt_tokens", promptTokens);
      o.put("decode_tokens", decodeTokens);
      o.put("runs", runs);
      o.put("load_ms", loadMs);
      o.put("time_to_first_token_ms", ttftMs);
      o.put("decode_tokens_per_second", tokensPerSecond);
      o.put("peak_rss_bytes", peakRss);
      o.put("host", HostDescription.current());
      out.println(o.toString());
    } else {
      out.printf(Locale.ROOT, "%s: load %.0f ms; time to first token (%d-token prompt) %.1f ms; decode %.1f tokens/s "
              + "(%d threads, median of %d); peak RSS %s; %s%n",
          variant, loadMs, promptTokens, ttftMs, tokensPerSecond, threads, runs,
          peakRss < 0 ? "unknown" : Bytes.size(peakRss), HostDescription.current());
    }
    out.flush();
  }

  private static int argmax(float[] logits) {
    int best = 0;
    for (int i = 1; i < logits.length; i++) {
      if (logits[i] > logits[best]) {
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

  /** VmHWM of this process from /proc (Linux), or -1 where unavailable. */
  static long peakRssBytes() {
    try {
      for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
        if (line.startsWith("VmHWM:")) {
          return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
        }
      }
    } catch (IOException | NumberFormatException e) {
      // Not Linux: no figure.
    }
    return -1;
  }
}
