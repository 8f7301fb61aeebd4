package dev.edgelm.daemon.internal.probe;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Reads the OS's text files ({@code /proc}, {@code /sys}) under a root that tests can replace with a
 * fake tree. A file that is missing or unreadable is empty, never an error: a probe reports what it
 * could not read as unknown.
 */
final class HostFiles {
  private final Path root;

  HostFiles(Path root) {
    this.root = root;
  }

  /** {@code absolute} (e.g. "/proc/meminfo") under the root. */
  Path resolve(String absolute) {
    String rel = absolute.startsWith("/") ? absolute.substring(1) : absolute;
    return rel.isEmpty() ? root : root.resolve(rel);
  }

  Optional<String> read(String absolute) {
    return read(resolve(absolute));
  }

  static Optional<String> read(Path p) {
    try {
      return Files.isRegularFile(p) ? Optional.of(Files.readString(p, StandardCharsets.ISO_8859_1)) : Optional.empty();
    } catch (IOException | SecurityException e) {
      return Optional.empty();
    }
  }

  /** The first line of a file, stripped. */
  static Optional<String> firstLine(Path p) {
    return read(p).map(s -> s.lines().findFirst().orElse("").strip());
  }
}
