package dev.edgelm.cli;

import dev.edgelm.proto.Units;
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
    // Opening verifies every file's sha256 (the first open in a process hashes, later ones hit the
    // per-process cache); both are timed so the cost of verification is visible next to the load.
    long openStart = System.nanoTime();
    ModelPackage pkg = ModelPackage.open(model);
    long opened = System.nanoTime();
    ModelPackage.open(model);
    long reopened = System.nanoTime();
    try (DecoderModel m = DecoderModel.load(pkg, SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      long loaded = System.nanoTime();
      Load load = new Load((opened - openStart + loaded - reopened) / 1e6, (opened - openStart) / 1e6, (reopened - opened) / 1e6);
      int[] prompt = new SplittableRandom(42).ints(promptTokens, 0, m.tokenizer().vocabSize()).toArray();
      DecodeBenchmark.Result r = DecodeBenchmark.run(m, prompt, decodeTokens, runs, warmup);
      print(m, load, r, DecodeBenchmark.peakRssBytes());
    }
    return ExitCodes.OK;
  }

  /**
   * @param totalMs open (with verification) and session creation
   * @param verifyMs the first open: reading the descriptor and hashing every listed file
   * @param verifyCachedMs a second open of the unchanged package (cache hits)
   */
  private record Load(double totalMs, double verifyMs, double verifyCachedMs) {}

  private void print(DecoderModel m, Load load, DecodeBenchmark.Result r, long peakRss) {
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
      o.put("load_ms", load.totalMs());
      o.put("verify_ms", load.verifyMs());
      o.put("verify_cached_ms", load.verifyCachedMs());
      o.put("time_to_first_token_ms", r.timeToFirstTokenMs());
      o.put("decode_tokens_per_second", r.decodeTokensPerSecond());
      o.put("peak_rss_bytes", peakRss);
      o.put("host", host);
      out.println(o.toString());
    } else {
      out.printf(Locale.ROOT, "%s: load %.0f ms (of which sha256 verification %.0f ms; %.1f ms when cached); time to first token "
              + "(%d-token prompt) %.1f ms; decode %.1f tokens/s (%d threads, median of %d); peak RSS %s; %s%n",
          variant, load.totalMs(), load.verifyMs(), load.verifyCachedMs(), promptTokens, r.timeToFirstTokenMs(), r.decodeTokensPerSecond(), threads, runs,
          peakRss < 0 ? "unknown" : Units.size(peakRss), host);
    }
    out.flush();
  }
}
