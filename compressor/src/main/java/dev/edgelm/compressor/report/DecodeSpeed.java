package dev.edgelm.compressor.report;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.compressor.OutputException;
import dev.edgelm.engine.DecodeBenchmark;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Measures a package's batch-1 decode speed and peak memory in a child JVM running
 * {@link DecodeProbe}, one process per package, so neither the numbers nor the memory of several
 * packages mix (ONNX Runtime's arenas are never returned to the OS within a process).
 */
public final class DecodeSpeed {
  /**
   * @param decodeTokens greedy decode steps per round (capped by the context)
   * @param threads ONNX Runtime intra-op threads
   * @param rounds timed rounds (after one warm-up round); the median is reported
   * @param timeoutSeconds longest a child may run
   * @param machine what the caller knows of this machine, recorded with every measurement
   */
  public record Options(int decodeTokens, int threads, int rounds, long timeoutSeconds, Machine machine) {
    public static final Options DEFAULTS = new Options(128, 1, 3, 600);

    public Options(int decodeTokens, int threads, int rounds, long timeoutSeconds) {
      this(decodeTokens, threads, rounds, timeoutSeconds, Machine.UNKNOWN);
    }

    public Options withMachine(Machine m) {
      return new Options(decodeTokens, threads, rounds, timeoutSeconds, m);
    }
  }

  /**
   * The measuring machine as the daemon's variant selector compares hosts: its single-thread copy
   * bandwidth (to rescale a figure to another host's) and its canonical CPU features (to tell
   * whether the same kernels run there). Without them a published speed cannot be reused.
   *
   * @param memoryBandwidthBytesPerSecond 0 when unknown
   */
  public record Machine(double memoryBandwidthBytesPerSecond, List<String> cpuFeatures) {
    public static final Machine UNKNOWN = new Machine(0, List.of());

    public Machine {
      cpuFeatures = List.copyOf(cpuFeatures);
    }
  }

  /**
   * One package's measurement.
   *
   * @param peakRssBytes the child process's peak resident set (JVM included), 0 where unknown
   */
  public record Measurement(double decodeTokensPerSecond, double timeToFirstTokenMs, int promptTokens, int decodeTokens,
      int threads, long peakRssBytes, String host, Machine machine) {}

  private DecodeSpeed() {}

  /** @throws OutputException when the child cannot start, fails or times out */
  public static Measurement measure(Path packageDir, Options options) {
    String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
    List<String> cmd = new ArrayList<>(List.of(java, "-Xmx1g", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"),
        DecodeProbe.class.getName(), packageDir.toAbsolutePath().toString(), Integer.toString(options.decodeTokens()),
        Integer.toString(options.threads()), Integer.toString(options.rounds())));
    Path log = null;
    Path out = null;
    try {
      log = Files.createTempFile("edgelm-decode", ".log");
      out = Files.createTempFile("edgelm-decode", ".json");
      // Both streams go to files, so waiting with a timeout cannot block on a full pipe.
      ProcessBuilder pb = new ProcessBuilder(cmd).redirectError(log.toFile()).redirectOutput(out.toFile());
      pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
      Process p = pb.start();
      p.getOutputStream().close();
      if (!p.waitFor(options.timeoutSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new OutputException("measuring decode speed of " + packageDir + " took longer than " + options.timeoutSeconds() + " s");
      }
      String stdout = Files.readString(out, StandardCharsets.UTF_8).strip();
      if (p.exitValue() != 0 || stdout.isEmpty()) {
        String err = Files.readString(log, StandardCharsets.UTF_8).strip();
        throw new OutputException("measuring decode speed of " + packageDir + " failed (exit " + p.exitValue() + "): "
            + (err.isEmpty() ? "no output" : err.lines().reduce((a, b) -> b).orElse(err)));
      }
      String[] lines = stdout.split("\\R");
      JsonNode j = new ObjectMapper().readTree(lines[lines.length - 1]);
      return new Measurement(j.get("decode_tokens_per_second").asDouble(), j.get("time_to_first_token_ms").asDouble(),
          j.get("prompt_tokens").asInt(), j.get("decode_tokens").asInt(), j.get("threads").asInt(),
          j.get("peak_rss_bytes").asLong(), host(), options.machine());
    } catch (IOException e) {
      throw new OutputException("cannot measure decode speed of " + packageDir + ": " + e.getMessage(), e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new OutputException("interrupted while measuring decode speed of " + packageDir, e);
    } finally {
      for (Path temp : new Path[] {log, out}) {
        if (temp != null) {
          try {
            Files.deleteIfExists(temp);
          } catch (IOException ignored) {
            // a temp file
          }
        }
      }
    }
  }

  /** This host, as benchmark records describe it. */
  public static String host() {
    return DecodeBenchmark.hostDescription();
  }
}
