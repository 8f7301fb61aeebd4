package dev.edgelm.cli;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;

/** An input the command line names (a file, a package, a store) is missing, unreadable or corrupt: exit status {@link ExitCodes#BAD_INPUT}. */
public final class InputFileException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  public InputFileException(String message) {
    super(message);
  }

  public InputFileException(String message, Throwable cause) {
    super(message, cause);
  }

  /** {@code FLAG PATH: REASON}, the path named once, the reason in words. */
  public static InputFileException of(String flag, Path path, IOException e) {
    return new InputFileException(flag + " " + path + ": " + reason(path, e), e);
  }

  /** {@code FLAG PATH does not exist or is not a file}, when a file was checked before it was read. */
  public static InputFileException missing(String flag, Path path) {
    return new InputFileException(flag + " " + path + " does not exist or is not a file", null);
  }

  static String reason(Path path, IOException e) {
    if (e instanceof NoSuchFileException) {
      return "no such file";
    }
    if (e instanceof AccessDeniedException) {
      return "permission denied";
    }
    String m = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    String p = path.toString();
    // Most IOException messages are the path alone or start with it: say only what it adds.
    if (m.equals(p)) {
      return e.getClass().getSimpleName();
    }
    return m.startsWith(p + ": ") ? m.substring(p.length() + 2) : m;
  }
}
