package dev.edgelm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.engine.DecodeBenchmark;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import java.io.PrintStream;
import java.nio.file.Path;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * Measures a package's batch-1 speed ({@link DecodeBenchmark}): time to first token for a prompt of
 * N random token ids, decode tokens per second over D greedy steps (EOS does not stop it), medians
 * over runs; and the process's peak resident memory (one model per process, so it is that model's).
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
  public Integer call() {
    if (promptTokens < 1 || decodeTokens < 1 || runs < 1 || warmup < 0 || threads < 0) {
      throw new ParameterException(spec.commandLine(), "--prompt-tokens, --decode-tokens and --runs must be at least 1");
    }
    long loadStart = System.nanoTime();
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(model), SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      double loadMs = (System.nanoTime() - loadStart) / 1e6;
      int[] prompt = new SplittableRandom(42).ints(promptTokens, 0, m.tokenizer().vocabSize()).toArray();
      DecodeBenchmark.Result r = DecodeBenchmark.run(m, prompt, decodeTokens, runs, warmup);
      print(m, loadMs, r, DecodeBenchmark.peakRssBytes());
    }
    return ExitCodes.OK;
  }

  private void print(DecoderModel m, double loadMs, DecodeBenchmark.Result r, long peakRss) {
    PrintStream out = GenerateCommand.utf8Stdout();
    String variant = m.descriptor().getId().isEmpty() ? model.getFileName().toString() : m.descriptor().getId();
    String host = DecodeBenchmark.hostDescription();
    if (json) {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("model", model.toString());
      o.put("variant", variant);
      o.put("threads", threads);
      o.put("prompt_tokens", promptTokens);
      o.put("decode_tokens", decodeTokens);
      o.put("runs", runs);
      o.put("load_ms", loadMs);
      o.put("time_to_first_token_ms", r.timeToFirstTokenMs());
      o.put("decode_tokens_per_second", r.decodeTokensPerSecond());
      o.put("peak_rss_bytes", peakRss);
      o.put("host", host);
      out.println(o.toString());
    } else {
      out.printf(Locale.ROOT, "%s: load %.0f ms; time to first token (%d-token prompt) %.1f ms; decode %.1f tokens/s "
              + "(%d threads, median of %d); peak RSS %s; %s%n",
          variant, loadMs, promptTokens, r.timeToFirstTokenMs(), r.decodeTokensPerSecond(), threads, runs,
          peakRss < 0 ? "unknown" : Bytes.size(peakRss), host);
    }
    out.flush();
  }
}
