package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * The official OpenAI client libraries, installed once per build under {@code integration-tests/target} and shared by
 * every HTTP IT of the run: the Python {@code openai} package in a venv of its own ({@code python3 -m venv}, {@code pip
 * install openai} from whatever index pip is configured with), and the npm {@code openai} package ({@code npm install
 * openai}). A test that needs one skips, saying why, when it cannot be installed (no python3/npm, no registry).
 * Scripts run with a timeout; their stdout is the result.
 */
final class OpenAiClients {
  private static final long INSTALL_MINUTES = 5;
  private static final long RUN_SECONDS = 120;
  private static String pythonProblem;
  private static Path python;
  private static String nodeProblem;
  private static Path nodeDir;

  private OpenAiClients() {}

  private static Path target() {
    return SharedAssets.repositoryRoot().resolve("integration-tests/target");
  }

  /** The venv's python with {@code openai} importable; skips the test when it cannot be made. */
  static synchronized Path python() {
    if (python == null && pythonProblem == null) {
      Path venv = target().resolve("openai-venv");
      Path bin = venv.resolve("bin/python");
      try {
        if (!Files.isExecutable(bin) || run(List.of(bin.toString(), "-c", "import openai"), target(), INSTALL_MINUTES * 60).exit != 0) {
          Outcome made = run(List.of("python3", "-m", "venv", "--clear", venv.toString()), target(), INSTALL_MINUTES * 60);
          // --retries 0: a default index that does not resolve is skipped at once for the configured mirrors
          Outcome installed = made.exit != 0 ? made
              : run(List.of(bin.toString(), "-m", "pip", "install", "-q", "--retries", "0", "openai"), target(), INSTALL_MINUTES * 60);
          if (installed.exit != 0) {
            pythonProblem = "cannot install the Python openai package (python3 -m venv + pip install openai): " + tail(installed.out);
          }
        }
      } catch (IOException e) {
        pythonProblem = "cannot run python3: " + e.getMessage();
      }
      if (pythonProblem == null) {
        python = bin;
      }
    }
    assumeTrue(pythonProblem == null, pythonProblem);
    return python;
  }

  /** A directory whose node_modules holds {@code openai}; skips the test when npm cannot install it. */
  static synchronized Path node() {
    if (nodeDir == null && nodeProblem == null) {
      Path dir = target().resolve("openai-npm");
      try {
        Files.createDirectories(dir);
        if (!Files.isRegularFile(dir.resolve("node_modules/openai/package.json"))) {
          Files.writeString(dir.resolve("package.json"), "{\"name\": \"edgelm-it-openai\", \"private\": true}\n");
          Outcome installed = run(List.of("npm", "install", "--no-audit", "--no-fund", "openai"), dir, INSTALL_MINUTES * 60);
          if (installed.exit != 0) {
            nodeProblem = "cannot install the npm openai package (npm install openai): " + tail(installed.out);
          }
        }
      } catch (IOException e) {
        nodeProblem = "cannot run npm: " + e.getMessage();
      }
      if (nodeProblem == null) {
        nodeDir = dir;
      }
    }
    assumeTrue(nodeProblem == null, nodeProblem);
    return nodeDir;
  }

  /** What a script printed (stdout and stderr together) and its exit status. */
  record Outcome(int exit, String out) {}

  /** Runs {@code script} (Python source) with the venv's python and {@code args}. */
  static Outcome runPython(Path workDir, String script, String... args) throws IOException {
    Path file = workDir.resolve("client.py");
    Files.writeString(file, script, StandardCharsets.UTF_8);
    List<String> cmd = new ArrayList<>(List.of(python().toString(), file.toString()));
    cmd.addAll(List.of(args));
    return run(cmd, workDir, RUN_SECONDS);
  }

  /** Runs {@code script} (an ES module) with node, resolving {@code openai} from {@link #node()}. */
  static Outcome runNode(String script, String... args) throws IOException {
    Path dir = node();
    Path file = dir.resolve("client.mjs");
    Files.writeString(file, script, StandardCharsets.UTF_8);
    List<String> cmd = new ArrayList<>(List.of("node", file.toString()));
    cmd.addAll(List.of(args));
    return run(cmd, dir, RUN_SECONDS);
  }

  static Outcome run(List<String> cmd, Path dir, long seconds) throws IOException {
    return run(cmd, dir, seconds, Map.of());
  }

  static Outcome run(List<String> cmd, Path dir, long seconds, Map<String, String> env) throws IOException {
    Files.createDirectories(dir);
    Path out = Files.createTempFile(dir, "out", ".txt");
    ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true).redirectOutput(out.toFile());
    pb.environment().putAll(env);
    Process p = pb.start();
    try {
      if (!p.waitFor(seconds, TimeUnit.SECONDS)) {
        p.destroyForcibly();
        return new Outcome(-1, "timed out after " + seconds + " s: " + Files.readString(out));
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      p.destroyForcibly();
      return new Outcome(-1, "interrupted");
    }
    return new Outcome(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
  }

  private static String tail(String s) {
    String t = s.strip();
    return t.length() > 400 ? "..." + t.substring(t.length() - 400) : t;
  }
}
