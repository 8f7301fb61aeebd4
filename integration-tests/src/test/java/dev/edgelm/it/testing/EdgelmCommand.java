package dev.edgelm.it.testing;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs the repository's {@code ./edgelm} launcher as a separate process, exactly as a user would,
 * with the jars the build just made ({@code EDGELM_NO_BUILD=1}: a test never starts Maven).
 */
public final class EdgelmCommand {
  /** What a finished command left behind. */
  public record Result(int exit, String out, String err) {
    public Result assertSuccess() {
      if (exit != 0) {
        throw new AssertionError("edgelm exited " + exit + "\nstdout: " + out + "\nstderr: " + err);
      }
      return this;
    }
  }

  private EdgelmCommand() {}

  public static Path launcher() {
    return SharedAssets.repositoryRoot().resolve("edgelm");
  }

  /** Runs {@code ./edgelm args...} in {@code workDir}, waiting at most {@code timeout}. */
  public static Result run(Path workDir, Duration timeout, String... args) throws IOException, InterruptedException {
    Path out = Files.createTempFile(workDir, "stdout", ".txt");
    Path err = Files.createTempFile(workDir, "stderr", ".txt");
    Process p = start(workDir, out, err, args);
    if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
      p.destroyForcibly();
      throw new AssertionError("edgelm " + String.join(" ", args) + " did not finish within " + timeout
          + "\nstderr so far: " + Files.readString(err, StandardCharsets.UTF_8));
    }
    return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
  }

  /** Starts {@code ./edgelm args...} with stdout and stderr going to files. */
  public static Process start(Path workDir, Path stdout, Path stderr, String... args) throws IOException {
    List<String> cmd = new ArrayList<>();
    cmd.add(launcher().toString());
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile())
        .redirectOutput(stdout.toFile()).redirectError(stderr.toFile());
    pb.environment().put("EDGELM_NO_BUILD", "1");
    pb.environment().put("EDGELM_JAVA_OPTS", "-Xmx2g");
    return pb.start();
  }
}
