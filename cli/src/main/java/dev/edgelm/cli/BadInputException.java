package dev.edgelm.cli;

/**
 * An input the command line names (a store, a package directory) is missing or damaged: exit
 * status {@link ExitCodes#BAD_INPUT}, the message as the one error line.
 */
public final class BadInputException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public BadInputException(String message) {
    super(message);
  }
}
