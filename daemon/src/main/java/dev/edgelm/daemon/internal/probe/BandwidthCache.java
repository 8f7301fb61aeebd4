package dev.edgelm.daemon.internal.probe;

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
 * The measured bandwidth of a host, on disk as {@code <cache dir>/bandwidth-<fingerprint>.json}, so a
 * host measures once and not at every start. Keyed by the hardware fingerprint: new hardware (or a
 * resized VM) measures again. Unreadable or unwritable caches are ignored (the host measures again).
 */
final class BandwidthCache {
  private static final ObjectMapper JSON = new ObjectMapper();
  private final Path dir;

  BandwidthCache(Path dir) {
    this.dir = dir;
  }

  private Path file(String fingerprint) {
    return dir.resolve("bandwidth-" + fingerprint + ".json");
  }

  OptionalDouble read(String fingerprint) {
    if (dir == null) {
      return OptionalDouble.empty();
    }
    try {
      Path f = file(fingerprint);
      if (!Files.isRegularFile(f)) {
        return OptionalDouble.empty();
      }
      JsonNode n = JSON.readTree(f.toFile());
      double v = n.path("bytes_per_second").asDouble(0);
      return v > 0 ? OptionalDouble.of(v) : OptionalDouble.empty();
    } catch (IOException | RuntimeException e) {
      return OptionalDouble.empty();
    }
  }

  void write(String fingerprint, double bytesPerSecond, Instant when) {
    if (dir == null) {
      return;
    }
    try {
      Files.createDirectories(dir);
      ObjectNode n = JSON.createObjectNode();
      n.put("fingerprint", fingerprint);
      n.put("bytes_per_second", bytesPerSecond);
      n.put("method", "single-thread streaming copy, " + (StreamingCopy.BYTES >> 20) + " MiB, best of repeated copies");
      n.put("measured_at", when.toString());
      Path tmp = Files.createTempFile(dir, ".bandwidth", ".tmp");
      Files.writeString(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsString(n) + "\n");
      Files.move(tmp, file(fingerprint), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      // A read-only or full cache directory costs one measurement per start, nothing more.
    }
  }
}
