package dev.edgelm.cli;

import dev.edgelm.daemon.ServeOptions;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code edgelm serve}: runs the daemon in this process, with exactly the flags of {@code edgelmd}. */
@Command(mixinStandardHelpOptions = true, name = "serve", description = {
    "Serve model packages over gRPC in this process, as the daemon edgelmd does.",
    "Token streaming, model management, health and Prometheus metrics; SIGTERM or Ctrl-C drains and exits 0. Quick start:",
    "  edgelm serve --model DIR [--model NAME=DIR]... [--port N]"})
final class ServeCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin ServeOptions options;

  @Override
  public Integer call() {
    return options.run(spec.commandLine().getOut(), spec.commandLine().getErr());
  }
}
