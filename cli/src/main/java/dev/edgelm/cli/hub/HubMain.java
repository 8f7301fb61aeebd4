package dev.edgelm.cli.hub;

import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.HubException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The hub subcommands on their own ({@code publish}, {@code pull}, {@code ls}, {@code rm}, {@code gc},
 * {@code keygen}), with the same error contract as {@code edgelm}: one line on stderr, non-zero exit.
 * {@link #SUBCOMMANDS} is what the main {@code edgelm} command registers; this entry point serves
 * integration tests that run the hub CLI as a separate process.
 */
@Command(name = "edgelm", mixinStandardHelpOptions = true, description = "edgelm hub commands.",
    subcommands = {PublishCommand.class, PullCommand.class, LsCommand.class, RmCommand.class, GcCommand.class, KeygenCommand.class})
public final class HubMain implements Runnable {
  /** The hub subcommands, for registration in the main command. */
  public static final Class<?>[] SUBCOMMANDS = {PublishCommand.class, PullCommand.class, LsCommand.class, RmCommand.class, GcCommand.class, KeygenCommand.class};

  @CommandLine.Spec CommandLine.Model.CommandSpec spec;

  public static void main(String[] args) {
    System.exit(run(args));
  }

  public static int run(String... args) {
    return commandLine().execute(args);
  }

  public static CommandLine commandLine() {
    return new CommandLine(new HubMain())
        .setExecutionExceptionHandler((ex, cmd, parsed) -> report(cmd.getErr(), ex))
        .setParameterExceptionHandler((ex, args) -> {
          ex.getCommandLine().getErr().println("edgelm: error: " + oneLine(ex.getMessage()) + " (see '"
              + ex.getCommandLine().getCommandSpec().qualifiedName() + " --help')");
          ex.getCommandLine().getErr().flush();
          return ExitCodes.USAGE;
        });
  }

  static int report(PrintWriter err, Exception ex) {
    int code;
    String message;
    if (ex instanceof HubException h) {
      code = HubErrors.exitCode(h);
      message = HubErrors.message(h);
    } else if (ex instanceof IllegalArgumentException) {
      code = ExitCodes.USAGE;
      message = ex.getMessage();
    } else if (ex instanceof UncheckedIOException) {
      code = ExitCodes.FAILURE;
      message = ex.getMessage();
    } else {
      code = ExitCodes.FAILURE;
      message = "internal error: " + ex + " (set EDGELM_DEBUG=1 for a stack trace and report it)";
    }
    err.println("edgelm: error: " + oneLine(message));
    if ("1".equals(System.getenv("EDGELM_DEBUG"))) {
      ex.printStackTrace(err);
    }
    err.flush();
    return code;
  }

  static String oneLine(String s) {
    return s == null || s.isBlank() ? "(no message)" : s.strip().replaceAll("\\s*\\R\\s*", "; ");
  }

  @Override
  public void run() {
    spec.commandLine().usage(spec.commandLine().getOut());
  }
}
