package dev.edgelm.daemon.internal.select;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Instant;
import java.util.OptionalDouble;

/**
 * On-device benchmark results, {@code <cache dir>/benchmarks-<host fingerprint>.json}, keyed by
 * variant manifest digest, execution provider, threads and token count: a variant is benchmarked on a
 * given hardware once. A missing or unreadable cache just means benchmarking again.
 *
 * <p>Threading: thread-safe (one lock per instance; writes replace the file atomically).
 */
final class BenchmarkCache {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path dir;

  BenchmarkCache(Path dir) {
    this.dir = dir;
  }

  private Path file(String fingerprint) {
    return dir.resolve("benchmarks-" + fingerprint + ".json");
  }

  static String key(String manifestDigest, String ep, int threads, int tokens) {
    return manifestDigest + "/" + ep + "/" + threads + "t/" + tokens;
  }

  synchronized OptionalDouble get(String fingerprint, String key) {
    JsonNode root = read(fingerprint);
    double v = root.path(key).path("tokens_per_second").asDouble(0);
    return v > 0 ? OptionalDouble.of(v) : OptionalDouble.empty();
  }

  synchronized void put(String fingerprint, String key, double tokensPerSecond, Instant when) {
    if (dir == null) {
      return;
    }
    try {
      ObjectNode root = read(fingerprint) instanceof ObjectNode o ? o : JSON.createObjectNode();
      ObjectNode e = JSON.createObjectNode();
      e.put("tokens_per_second", tokensPerSecond);
      e.put("measured_at", when.toString());
      root.set(key, e);
      Files.createDirectories(dir);
      Path tmp = Files.createTempFile(dir, ".benchmarks", ".tmp");
      Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(root) + "\n");
      Files.move(tmp, file(fingerprint), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      // Unwritable cache: the next selection benchmarks again.
    }
  }

  private JsonNode read(String fingerprint) {
    if (dir == null) {
      return JSON.createObjectNode();
    }
    try {
      Path f = file(fingerprint);
      return Files.isRegularFile(f) ? JSON.readTree(f.toFile()) : JSON.createObjectNode();
    } catch (IOException | RuntimeException e) {
      return JSON.createObjectNode();
    }
  }
}
