package dev.edgelm.cli;

import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.MethodChain;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.daemon.Daemon;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.PublishResult;
import dev.edgelm.hub.Reference;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * The whole product on one machine: checkpoint → fp32 package → int8 and int4 variants → one
 * release in a local hub directory → a daemon that selects a variant for this host, pulls and
 * verifies it → a token stream over gRPC on loopback → drain.
 */
@Command(mixinStandardHelpOptions = true, name = "quickstart", description = {
    "Walk the whole path on one machine, from a checkpoint to a streamed generation.",
    "Import a checkpoint (or synthesize one), compress it to int8 and int4, "
        + "publish the three variants as one release to a local hub directory, start the daemon on loopback, "
        + "let it choose the variant for this host and stream a generation from it over gRPC, then drain. "
        + "Without --model it synthesizes a tiny Llama with random weights, so its text is random."})
final class QuickstartCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", paramLabel = "SRC", description = "Checkpoint to import (HF directory or llama2.c .bin); default: a synthesized model.")
  Path model;

  @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer for --model, when it is not in or beside it.")
  Path tokenizer;

  @Option(names = "--prompt", defaultValue = "Once upon a time", description = "Prompt (default: ${DEFAULT-VALUE}).")
  String prompt;

  @Option(names = "--max-tokens", defaultValue = "64", description = "Tokens to generate, greedily (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--variant", paramLabel = "ID",
      description = "Serve this variant of the release (fp32, int8 or int4) instead of the one the daemon selects for this host.")
  String variant;

  @Option(names = "--work", defaultValue = ".edgelm-quickstart", paramLabel = "DIR",
      description = "Working directory for checkpoints, packages, the hub directory and the daemon's store (default: ${DEFAULT-VALUE}).")
  Path work;

  private static final List<String> VARIANTS = List.of("fp32", "int8", "int4");

  @Override
  public Integer call() {
    if (variant != null && !VARIANTS.contains(variant)) {
      throw new IllegalArgumentException("--variant must be one of " + String.join(", ", VARIANTS) + ", got '" + variant + "'");
    }
    if (maxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be at least 1, got " + maxTokens);
    }
    PrintWriter err = spec.commandLine().getErr();
    work = work.toAbsolutePath();
    Path source = model;
    if (source == null) {
      source = work.resolve("synth-llama-tiny");
      err.println("No --model given: synthesizing a tiny Llama with random weights. Its text is random;");
      err.println("pass --model with a real checkpoint (e.g. ../shared/models/stories260K/stories260K.bin) for real text.");
      SynthCheckpoint.write(Preset.LLAMA_TINY, 0, SafetensorsWriter.Dtype.F32, source, true);
    }

    step(err, "1/4 import and compress");
    ImportedModel imported = CheckpointImporter.importCheckpoint(source, tokenizer);
    String name = imported.name();
    Path packages = work.resolve("packages").resolve(name);
    Path fp32 = packages.resolve("fp32");
    ImportCommand.write(imported, null, new PackageWriter.Target(fp32, true, Arrays.asList(source, tokenizer)));
    err.println("imported " + name + " into " + fp32);
    int threads = Runtime.getRuntime().availableProcessors();
    List<String> variants = new ArrayList<>(List.of("fp32"));
    for (String q : List.of("int8", "int4")) {
      Path out = packages.resolve(q);
      try {
        List<Method> chain = MethodChain.parse(q, Map.of(), "--", threads, false);
        Compressor.compress(new VariantJob(fp32, out, q, true, null, null), chain, line -> { });
      } catch (UsageException e) { // a shape this precision cannot take: publish the others
        err.println("skipped " + q + ": " + e.getMessage());
        continue;
      }
      variants.add(q);
      err.println("compressed " + q + " (round-to-nearest, no calibration text) into " + out);
    }
    if (variant != null && !variants.contains(variant)) {
      throw new IllegalArgumentException("--variant " + variant + " could not be made for this model (see above); use one of "
          + String.join(", ", variants));
    }

    step(err, "2/4 publish");
    Reference release = Reference.parse("oci:" + work.resolve("hub").resolve(name) + ":stable");
    try (Hub hub = Hub.open(HubOptions.defaults(work.resolve("publisher-store")))) {
      PublishResult r = hub.publish(variants.stream().map(packages::resolve).toList(), release, PublishOptions.DEFAULT,
          ProgressListener.NONE);
      err.println("published " + String.join(", ", variants) + " as one release: " + r.reference());
    }

    step(err, "3/4 serve");
    if (System.getProperty("java.util.logging.config.file") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "edgelmd: %5$s%6$s%n");
    }
    Map<String, String> settings = new LinkedHashMap<>();
    settings.put("server.grpc_port", "0");
    settings.put("server.http_port", "-1");
    settings.put("hub.store", work.resolve("store").toString());
    settings.put("hub.poll_interval", "0");
    settings.put("host.cache_dir", work.resolve("host-cache").toString());
    settings.put("models." + name + ".ref", release.toString());
    if (variant != null) {
      settings.put("models." + name + ".variant", variant);
    }
    DaemonConfig config = DaemonConfig.load(new DaemonConfig.ConfigSources(null, Map.of(), settings));
    err.flush();
    try (Daemon daemon = Daemon.start(config)) {
      err.println("daemon listening on 127.0.0.1:" + daemon.grpcPort() + " (gRPC); "
          + (variant == null ? "it selects the variant for this host, then pulls and verifies only that one"
              : "variant " + variant + " pinned"));
      err.flush();
      long giveUp = System.nanoTime() + Duration.ofMinutes(5).toNanos();
      while (!daemon.ready()) {
        if (System.nanoTime() > giveUp) {
          throw new IllegalStateException("the daemon did not load " + name + " within 5 minutes; see the lines above");
        }
        try {
          Thread.sleep(50); // polling readiness, as a client would poll /readyz
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
          return ExitCodes.FAILURE;
        }
      }
      err.println("prompt: " + prompt);
      err.flush();

      step(err, "4/4 stream over gRPC");
      PrintStream out = GenerateCommand.utf8Stdout();
      GenerateResponse last;
      try (RemoteGenerator client = new RemoteGenerator(
          new RemoteGenerator.Target("127.0.0.1", daemon.grpcPort(), null, false, null, null, null))) {
        out.print(prompt);
        out.flush();
        GenerateRequest request = GenerateRequest.newBuilder().setModel(name).setPrompt(prompt).setMaxTokens(maxTokens).build();
        last = client.generate(request, null, Duration.ofMinutes(5), r -> {
          out.print(r.getText());
          out.flush();
        });
      }
      out.println();
      out.flush();
      err.printf(Locale.ROOT, "variant %s: %d tokens, time to first token %.1f ms, %.1f tokens/s; draining the daemon%n",
          last.getVariant(), last.getUsage().getCompletionTokens(), last.getTimings().getTimeToFirstTokenMs(),
          last.getTimings().getDecodeTokensPerSecond());
      err.flush();
    }
    err.println("done. Next: edgelm serve --config FILE (docs/DEPLOY.md), edgelm report (docs/COMPRESSION.md).");
    err.flush();
    return ExitCodes.OK;
  }

  private static void step(PrintWriter err, String what) {
    err.println("== " + what);
    err.flush();
  }
}
