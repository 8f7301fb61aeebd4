package dev.edgelm.cli;

import dev.edgelm.cli.hub.HubErrors;
import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.CompressorException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.daemon.ConfigException;
import dev.edgelm.engine.EngineException;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.hub.HubException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import picocli.CommandLine;

/**
 * The one place that turns an exception into what the user sees: a single line on stderr, naming
 * what was wrong and what to do, and an exit status from {@link ExitCodes}. Set {@code EDGELM_DEBUG=1}
 * to also print the stack trace.
 */
final class ErrorReporter implements CommandLine.IExecutionExceptionHandler, CommandLine.IParameterExceptionHandler {

  @Override
  public int handleExecutionException(Exception ex, CommandLine cmd, CommandLine.ParseResult parseResult) {
    return report(cmd.getErr(), ex);
  }

  @Override
  public int handleParseException(CommandLine.ParameterException ex, String[] args) {
    CommandLine cmd = ex.getCommandLine();
    String message = ex.getMessage();
    // A mistyped option also leaves required options "missing"; the typo is the real problem.
    java.util.List<String> unmatched = cmd.getParseResult() == null ? java.util.List.of() : cmd.getParseResult().unmatched();
    if (!(ex instanceof CommandLine.UnmatchedArgumentException) && !unmatched.isEmpty()) {
      message = "unknown option or argument " + String.join(" ", unmatched);
    }
    cmd.getErr().println("edgelm: error: " + oneLine(message) + " (see '" + cmd.getCommandSpec().qualifiedName() + " --help')");
    cmd.getErr().flush();
    return ExitCodes.USAGE;
  }

  static int report(PrintWriter err, Throwable ex) {
    if (ex instanceof HubException h) {
      return print(err, ex, HubErrors.message(h), HubErrors.exitCode(h));
    }
    if (ex instanceof ConfigException) {
      return print(err, ex, ex.getMessage() + " (see 'edgelm serve --describe-config')", ExitCodes.USAGE);
    }
    if (ex instanceof RemoteGenerator.RemoteCallException r) {
      return print(err, ex, "the daemon answered " + r.status.name() + ": " + r.getMessage(), remoteExitCode(r));
    }
    int code = exitCode(ex);
    String message = code == ExitCodes.FAILURE && !(ex instanceof EngineException || ex instanceof CompressorException || ex instanceof UncheckedIOException
        || ex instanceof BadInputException)
        ? "internal error: " + ex.getClass().getSimpleName() + ": " + oneLine(ex.getMessage())
            + " (set EDGELM_DEBUG=1 for a stack trace and report it)"
        : oneLine(ex.getMessage());
    return print(err, ex, message, code);
  }

  private static int print(PrintWriter err, Throwable ex, String message, int code) {
    err.println("edgelm: error: " + oneLine(message));
    if ("1".equals(System.getenv("EDGELM_DEBUG"))) {
      ex.printStackTrace(err);
    }
    err.flush();
    return code;
  }

  private static int remoteExitCode(RemoteGenerator.RemoteCallException r) {
    return switch (r.status) {
      case INVALID_ARGUMENT, NOT_FOUND, UNAUTHENTICATED, PERMISSION_DENIED -> ExitCodes.USAGE;
      default -> ExitCodes.FAILURE;
    };
  }

  static int exitCode(Throwable ex) {
    if (ex instanceof UsageException || ex instanceof InvalidRequestException || ex instanceof IllegalArgumentException) {
      return ExitCodes.USAGE;
    }
    if (ex instanceof CheckpointException || ex instanceof ModelPackageException || ex instanceof BadInputException) {
      return ExitCodes.BAD_INPUT;
    }
    return ExitCodes.FAILURE;
  }

  static String oneLine(String s) {
    if (s == null || s.isBlank()) {
      return "(no message)";
    }
    return s.strip().replaceAll("\\s*\\R\\s*", "; ");
  }
}
