package dev.edgelm.hub.testing;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Makes sure a Debian package's command is present, installing the package with apt-get when it is
 * missing (tests set up what they need themselves), and runs commands capturing their output.
 */
public final class DebianTools {
  private DebianTools() {}

  /** Result of a command. */
  public record Result(int exit, String stdout, String stderr) {}

  /** Ensures {@code command} (an absolute path) exists, installing {@code pkg} if not. */
  public static synchronized Path require(String command, String pkg) {
    Path p = Path.of(command);
    if (Files.isExecutable(p)) {
      return p;
    }
    Result r = run(List.of("apt-get", "install", "-y", "--no-install-recommends", pkg), 600);
    if (r.exit() != 0) {
      run(List.of("apt-get", "update"), 600);
      r = run(List.of("apt-get", "install", "-y", "--no-install-recommends", pkg), 600);
    }
    if (!Files.isExecutable(p)) {
      throw new IllegalStateException(command + " is missing and 'apt-get install -y " + pkg + "' did not provide it (exit "
          + r.exit() + "): " + r.stderr());
    }
    return p;
  }

  public static Result run(List<String> cmd, long timeoutSeconds) {
    try {
      Path out = Files.createTempFile("cmd", ".out");
      Path err = Files.createTempFile("cmd", ".err");
      try {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().put("DEBIAN_FRONTEND", "noninteractive");
        Process proc = pb.start();
        if (!proc.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
          proc.destroyForcibly();
          throw new IllegalStateException(cmd + " did not finish within " + timeoutSeconds + " s");
        }
        return new Result(proc.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
      } finally {
        Files.deleteIfExists(out);
        Files.deleteIfExists(err);
      }
    } catch (IOException e) {
      return new Result(127, "", String.valueOf(e));
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }
}
