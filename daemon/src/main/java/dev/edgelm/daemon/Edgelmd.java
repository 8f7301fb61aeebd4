package dev.edgelm.daemon;

import dev.edgelm.proto.EdgelmVersion;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/**
 * Entry point of {@code edgelmd}, the daemon an edge host runs (the {@code ./edgelmd} launcher runs
 * this class). Takes the same flags as {@code edgelm serve} ({@link ServeOptions}). Exit status: 0
 * after a drain, 2 for an invalid configuration (one line naming the key), 1 otherwise.
 */
@Command(name = "edgelmd", mixinStandardHelpOptions = true, versionProvider = Edgelmd.Version.class,
    description = {"Serve edgelm model packages over gRPC: token streaming, model management,",
        "health, metrics. SIGTERM or SIGINT drains (running streams finish, or are",
        "cancelled at server.drain_timeout) and exits 0."})
public final class Edgelmd implements Callable<Integer> {
  /** Exit status for an invalid configuration or command line. */
  public static final int EXIT_CONFIG = 2;

  @Spec CommandLine.Model.CommandSpec spec;

  @Mixin ServeOptions options;

  @picocli.CommandLine.Option(names = "--print-capabilities",
      description = "Probe this host as variant selection sees it (host.* overrides applied), print JSON, and exit.")
  boolean printCapabilities;

  @picocli.CommandLine.Option(names = "--print-node-labels",
      description = "Print Kubernetes node labels for this host's capabilities (edgelm.dev/...=...), one per line, and exit.")
  boolean printNodeLabels;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    return new CommandLine(new Edgelmd())
        .setExecutionExceptionHandler((ex, cmd, parse) -> {
          PrintWriter err = cmd.getErr();
          if (ex instanceof ConfigException) {
            err.println("edgelmd: error: " + ex.getMessage());
            err.flush();
            return EXIT_CONFIG;
          }
          err.println("edgelmd: error: " + ex.getClass().getSimpleName() + ": " + ex.getMessage());
          ex.printStackTrace(err);
          err.flush();
          return 1;
        })
        .execute(args);
  }

  @Override
  public Integer call() throws com.google.protobuf.InvalidProtocolBufferException {
    if (printCapabilities || printNodeLabels) {
      DaemonConfig config = DaemonConfig.load(options.sources(Environment.snapshot()));
      HostCapabilities host = HostProbe.create(config.host().probeOptions()).probe();
      PrintWriter out = spec.commandLine().getOut();
      if (printCapabilities) {
        out.println(com.google.protobuf.util.JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(host.toProto()));
      } else {
        host.nodeLabels().forEach((k, v) -> out.println(k + "=" + v));
      }
      out.flush();
      return 0;
    }
    return options.run(spec.commandLine().getOut(), spec.commandLine().getErr());
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"edgelmd " + EdgelmVersion.CURRENT};
    }
  }
}
