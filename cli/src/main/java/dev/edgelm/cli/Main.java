package dev.edgelm.cli;

import dev.edgelm.cli.hub.GcCommand;
import dev.edgelm.cli.hub.KeygenCommand;
import dev.edgelm.cli.hub.LsCommand;
import dev.edgelm.cli.hub.PublishCommand;
import dev.edgelm.cli.hub.PullCommand;
import dev.edgelm.cli.hub.RmCommand;
import dev.edgelm.cli.hub.SelectCommand;
import dev.edgelm.proto.EdgelmVersion;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** Entry point of the {@code edgelm} command. */
@Command(
    name = "edgelm",
    mixinStandardHelpOptions = true,
    versionProvider = Main.Version.class,
    description = "Compress compact language models into variants, publish them to a hub, and serve the best one per host.",
    subcommands = {
      QuickstartCommand.class,
      ImportCommand.class,
      SynthCommand.class,
      GenerateCommand.class,
      EvalCommand.class,
      CompressCommand.class,
      ReleaseCommand.class,
      ReportCommand.class,
      BenchCommand.class,
      ServeCommand.class,
      CapabilitiesCommand.class,
      SelectCommand.class,
      PublishCommand.class,
      PullCommand.class,
      LsCommand.class,
      RmCommand.class,
      GcCommand.class,
      KeygenCommand.class,
      VerifyCommand.class,
    })
public final class Main implements Callable<Integer> {
  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  /** Runs the command line and returns its exit status (for tests and for {@link #main}). */
  public static int run(String... args) {
    return commandLine().execute(args);
  }

  /** The configured command line (error handling included), for tests that run commands in-process. */
  public static CommandLine commandLine() {
    ErrorReporter errors = new ErrorReporter();
    CommandLine cl = new CommandLine(new Main());
    CompressCommand.addMethodOptions(cl.getSubcommands().get("compress").getCommandSpec());
    return HelpLayout.install(cl)
        .setExecutionExceptionHandler(errors)
        .setParameterExceptionHandler(errors)
        .setCaseInsensitiveEnumValuesAllowed(true);
  }

  /** {@code edgelm} without a command: the usage, on stderr, and the usage exit status (nothing was done). */
  @Override
  public Integer call() {
    spec.commandLine().getErr().println("edgelm: error: no command given; run one of the commands below ('edgelm COMMAND --help' for its options)");
    spec.commandLine().usage(spec.commandLine().getErr());
    spec.commandLine().getErr().flush();
    return ExitCodes.USAGE;
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      return new String[] {"edgelm " + EdgelmVersion.CURRENT};
    }
  }
}
