package dev.edgelm.cli;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "generate", description = "Stream the continuation of a prompt from a model package to stdout.")
final class GenerateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "Model package directory.")
  Path model;

  @Option(names = "--prompt", required = true, description = "Prompt text.")
  String prompt;

  @Mixin SamplingMixin sampling;

  @Option(names = "--threads", defaultValue = "1", description = "ONNX Runtime intra-op threads (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--stats", description = "Print token counts and timings to stderr at the end.")
  boolean stats;

  @Override
  public Integer call() {
    GenerationRequest request = GenerationRequest.ofText(prompt)
        .withMaxTokens(sampling.maxTokens)
        .withSampling(sampling.sampling())
        .withStop(sampling.stop.toArray(String[]::new));
    PrintStream out = utf8Stdout();
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(model), SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      GenerationResult result = Generation.stream(m, request, text -> {
        out.print(text);
        out.flush();
      });
      if (System.console() != null) {
        out.println();
      }
      out.flush();
      if (stats) {
        printStats(result);
      }
    }
    return ExitCodes.OK;
  }

  private void printStats(GenerationResult r) {
    spec.commandLine().getErr().printf(Locale.ROOT,
        "%d prompt tokens, %d generated, finish %s; time to first token %.1f ms, decode %.1f tokens/s%n",
        r.usage().promptTokens(), r.usage().completionTokens(), r.finishReason().name().toLowerCase(Locale.ROOT),
        r.timings().timeToFirstToken().toNanos() / 1e6, r.timings().decodeTokensPerSecond());
    spec.commandLine().getErr().flush();
  }

  /** stdout as UTF-8 whatever the platform's default charset (a POSIX locale would turn text into '?'). */
  static PrintStream utf8Stdout() {
    return new PrintStream(new FileOutputStream(FileDescriptor.out), false, StandardCharsets.UTF_8);
  }
}
