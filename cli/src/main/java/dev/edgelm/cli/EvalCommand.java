package dev.edgelm.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.PerplexityResult;
import dev.edgelm.engine.Scorer;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.SessionSettings;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "eval", description = {
    "Measure the perplexity of a model package on a text file.",
    "Without --doc-separator the text is one token stream scored in sliding windows (each target once); "
        + "with it, each document is scored on its own, starting with BOS and truncated to the context."})
final class EvalCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model package directory.")
  Path model;

  @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 text to score.")
  Path text;

  @Option(names = "--doc-separator", paramLabel = "STR", description = "Score each document between separators on its own (e.g. '<|endoftext|>').")
  String separator;

  @Option(names = "--window", description = "Sliding-window length in tokens (default: the model's context length).")
  Integer window;

  @Option(names = "--stride", description = "Tokens between sliding-window starts (default: half the window).")
  Integer stride;

  @Option(names = "--parallel", defaultValue = "2", description = "Windows scored at once, one ONNX Runtime thread each (default: ${DEFAULT-VALUE}).")
  int parallel;

  @Option(names = "--json", description = "Print {tokens, mean_nll, perplexity, protocol} as JSON.")
  boolean json;

  @Override
  public Integer call() throws IOException {
    if (!Files.isRegularFile(text)) {
      throw InputFileException.missing("--text", text);
    }
    if (parallel < 1) {
      throw new ParameterException(spec.commandLine(), "--parallel must be at least 1, got " + parallel);
    }
    String content = Files.readString(text, StandardCharsets.UTF_8);
    PerplexityResult result;
    ScoringPlan plan;
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(model), SessionSettings.DEFAULTS)) {
      if (separator != null) {
        if (window != null || stride != null) {
          throw new ParameterException(spec.commandLine(), "--window and --stride apply to sliding windows, not to --doc-separator");
        }
        plan = ScoringPlan.perDocument(m.tokenizer(), content, separator, m.contextLength());
      } else {
        int w = window != null ? window : m.contextLength();
        if (w > m.contextLength()) {
          throw new ParameterException(spec.commandLine(), "--window " + w + " exceeds the model's context length " + m.contextLength());
        }
        plan = ScoringPlan.slidingWindow(m.tokenizer(), content, w, stride != null ? stride : Math.max(1, w / 2));
      }
      if (plan.scoredTokens() == 0) {
        throw new ParameterException(spec.commandLine(), "--text " + text + " has no tokens to score");
      }
      ExecutorService pool = Executors.newFixedThreadPool(parallel);
      try {
        result = Scorer.perplexity(m, plan, pool, parallel, ProgressLine.onStderr(spec.commandLine().getErr(), "scored"));
      } finally {
        pool.shutdownNow();
      }
    }
    PrintStream out = GenerateCommand.utf8Stdout();
    if (json) {
      ObjectNode o = new ObjectMapper().createObjectNode();
      o.put("tokens", result.scoredTokens());
      o.put("mean_nll", result.meanNll());
      o.put("perplexity", result.perplexity());
      o.put("protocol", plan.protocol());
      out.println(o.toString());
    } else {
      out.printf(Locale.ROOT, "perplexity %.4f (mean NLL %.4f nats over %,d tokens; %s)%n",
          result.perplexity(), result.meanNll(), result.scoredTokens(), plan.protocol());
    }
    out.flush();
    return ExitCodes.OK;
  }
}
