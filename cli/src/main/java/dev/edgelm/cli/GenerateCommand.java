package dev.edgelm.cli;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
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

@Command(mixinStandardHelpOptions = true, name = "generate", description = {
    "Stream the continuation of a prompt to stdout, ended by a newline.",
    "The model runs in this process, or with --remote HOST:PORT in an edgelm daemon (then --model names a served model)."})
final class GenerateCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR|NAME",
      description = "Model package directory; with --remote, the name of a model the daemon serves.")
  String model;

  @Option(names = "--remote", paramLabel = "HOST:PORT", description = "Stream from the edgelm daemon at HOST:PORT instead of running the model here.")
  String remote;

  @Option(names = "--api-key", paramLabel = "KEY", description = "API key for --remote (default: $EDGELM_API_KEY).")
  String apiKey;

  @Option(names = "--tls", description = "Connect to --remote with TLS.")
  boolean tls;

  @Option(names = "--ca-file", paramLabel = "FILE", description = "PEM CA certificates to trust for --remote TLS (implies --tls).")
  Path caFile;

  @Option(names = "--cert", paramLabel = "FILE", description = "PEM client certificate for mutual TLS (with --key; implies --tls).")
  Path certFile;

  @Option(names = "--key", paramLabel = "FILE", description = "PEM private key of --cert.")
  Path keyFile;

  @Option(names = "--deadline", paramLabel = "DURATION", description = "Deadline of the remote call, e.g. 30s or 500ms (the daemon stops generating when it passes).")
  String deadline;

  @Option(names = "--wait", paramLabel = "DURATION", defaultValue = "30s",
      description = "With --remote, keep retrying this long while the daemon is not ready (model loading) (default: ${DEFAULT-VALUE}).")
  String waitFor;

  @Option(names = "--request-id", paramLabel = "ID", description = "Request id sent with --remote (echoed in traces).")
  String requestId;

  @Option(names = "--prompt", required = true, description = "Prompt text.")
  String prompt;

  @Mixin SamplingMixin sampling;

  @Option(names = "--threads", defaultValue = "1",
      description = "ONNX Runtime intra-op threads, without --remote (default: ${DEFAULT-VALUE}).")
  int threads;

  @Option(names = "--stats", description = "Print token counts and timings to stderr at the end.")
  boolean stats;

  @Override
  public Integer call() {
    if (remote != null) {
      return callRemote();
    }
    if (apiKey != null || tls || caFile != null || certFile != null || deadline != null || requestId != null) {
      throw new IllegalArgumentException("--api-key, --tls, --ca-file, --cert, --deadline and --request-id only apply with --remote HOST:PORT");
    }
    if (threads < 1) {
      throw new IllegalArgumentException("--threads must be at least 1, got " + threads);
    }
    GenerationRequest request = GenerationRequest.ofText(prompt)
        .withMaxTokens(sampling.maxTokens())
        .withSampling(sampling.sampling())
        .withStop(sampling.stop.toArray(String[]::new));
    StreamedText out = new StreamedText(utf8Stdout());
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(Path.of(model)), SessionSettings.DEFAULTS.withIntraOpThreads(threads))) {
      GenerationResult result = Generation.stream(m, request, out::print);
      out.finish();
      if (stats) {
        printStats(result);
      }
    }
    return ExitCodes.OK;
  }

  private int callRemote() {
    if (spec.commandLine().getParseResult().hasMatchedOption("--threads")) {
      throw new IllegalArgumentException("--threads applies to generation in this process only; with --remote the daemon's "
          + "runtime.intra_op_threads setting decides");
    }
    RemoteGenerator.Target target = target();
    GenerateRequest.Builder request = GenerateRequest.newBuilder()
        .setModel(model)
        .setPrompt(prompt)
        .setMaxTokens(sampling.maxTokens())
        .setTemperature(sampling.temperature)
        .setTopK(sampling.topK)
        .setTopP(sampling.topP)
        .setRepetitionPenalty(sampling.repetitionPenalty)
        .addAllStop(sampling.stop);
    if (sampling.seed != null) {
      request.setSeed(sampling.seed);
    }
    if (requestId != null) {
      request.setRequestId(requestId);
    }
    StreamedText out = new StreamedText(utf8Stdout());
    GenerateResponse last;
    try (RemoteGenerator client = new RemoteGenerator(target)) {
      last = client.generate(request.build(), deadline == null ? null : Durations.parse("--deadline", deadline),
          Durations.parse("--wait", waitFor), r -> out.print(r.getText()));
    }
    out.finish();
    if (stats && last != null) {
      spec.commandLine().getErr().printf(Locale.ROOT,
          "%d prompt tokens, %d generated, finish %s; queue %.1f ms, time to first token %.1f ms, decode %.1f tokens/s (variant %s)%n",
          last.getUsage().getPromptTokens(), last.getUsage().getCompletionTokens(),
          last.getFinishReason().name().substring("FINISH_REASON_".length()).toLowerCase(Locale.ROOT),
          last.getTimings().getQueueMs(), last.getTimings().getTimeToFirstTokenMs(), last.getTimings().getDecodeTokensPerSecond(),
          last.getVariant());
      spec.commandLine().getErr().flush();
    }
    return ExitCodes.OK;
  }

  private RemoteGenerator.Target target() {
    int colon = remote.lastIndexOf(':');
    int port;
    try {
      port = colon > 0 ? Integer.parseInt(remote.substring(colon + 1)) : -1;
    } catch (NumberFormatException e) {
      port = -1;
    }
    if (port < 1 || port > 65535) {
      throw new IllegalArgumentException("--remote must be HOST:PORT, e.g. 127.0.0.1:50051, not '" + remote + "'");
    }
    if ((certFile == null) != (keyFile == null)) {
      throw new IllegalArgumentException("--cert and --key go together");
    }
    String host = remote.substring(0, colon);
    if (host.startsWith("[") && host.endsWith("]")) {
      host = host.substring(1, host.length() - 1);
    }
    String key = apiKey != null ? apiKey : System.getenv("EDGELM_API_KEY");
    boolean useTls = tls || caFile != null || certFile != null;
    return new RemoteGenerator.Target(host, port, key == null || key.isBlank() ? null : key.strip(), useTls, caFile, certFile, keyFile);
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
