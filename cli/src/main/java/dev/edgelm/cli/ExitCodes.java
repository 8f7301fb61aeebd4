package dev.edgelm.cli;

/** Exit statuses of the {@code edgelm} command. */
public final class ExitCodes {
  public static final int OK = 0;
  /** Something failed while running: I/O, the runtime, the network. */
  public static final int FAILURE = 1;
  /** The command line or the request was wrong (unknown flag, conflicting options, empty prompt). */
  public static final int USAGE = 2;
  /** An input file (checkpoint, package, tokenizer, text) is missing, corrupt or unsupported. */
  public static final int BAD_INPUT = 3;

  private ExitCodes() {}
}
