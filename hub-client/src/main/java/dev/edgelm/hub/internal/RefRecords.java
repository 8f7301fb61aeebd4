package dev.edgelm.hub.internal;

import com.fasterxml.jackson.annotation.JsonIgnoreProperties;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.StoreException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.UUID;
import java.util.function.UnaryOperator;

/**
 * One JSON record per reference pulled, in {@code refs/<sha256 of the reference>.json}: which index
 * the reference named when last pulled, its signature manifest, and the variants pulled from it.
 * These records are the roots of garbage collection and what offline mode resolves tags with.
 */
final class RefRecords {
  @JsonInclude(JsonInclude.Include.NON_NULL)
  @JsonIgnoreProperties(ignoreUnknown = true)
  record Record(String reference, String model, String indexDigest, String signatureManifest, String signature,
      String updated, Map<String, String> variants) {
    Record {
      variants = variants == null ? Map.of() : new TreeMap<>(variants);
    }
  }

  private final Path dir;

  RefRecords(Path dir) {
    this.dir = dir;
  }

  Optional<Record> get(String reference) {
    Path p = pathOf(reference);
    try {
      return Optional.of(Oci.JSON.readValue(Files.readAllBytes(p), Record.class));
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new StoreException("cannot read ref record " + p + ": " + e.getMessage(), e);
    }
  }

  List<Record> all() {
    List<Record> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir, "*.json")) {
      for (Path p : ds) {
        try {
          out.add(Oci.JSON.readValue(Files.readAllBytes(p), Record.class));
        } catch (NoSuchFileException ignored) {
          // Removed meanwhile.
        }
      }
    } catch (IOException e) {
      throw new StoreException("cannot list ref records in " + dir + ": " + e.getMessage(), e);
    }
    out.sort((a, b) -> a.reference().compareTo(b.reference()));
    return out;
  }

  /** Read-modify-write of one record under an exclusive lock (across processes). A null result deletes it. */
  void update(String reference, UnaryOperator<Record> change) {
    Path p = pathOf(reference);
    try {
      Files.createDirectories(dir);
      synchronized (RefRecords.class) {
        try (FileChannel ch = FileChannel.open(dir.resolve(".lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            FileLock ignored = ch.lock()) {
          Record next = change.apply(get(reference).orElse(null));
          if (next == null) {
            Files.deleteIfExists(p);
            return;
          }
          Path tmp = dir.resolve(".tmp-" + UUID.randomUUID());
          Files.write(tmp, Oci.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(next));
          Files.move(tmp, p, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        }
      }
    } catch (IOException e) {
      throw new StoreException("cannot write ref record " + p + ": " + e.getMessage(), e);
    }
  }

  private Path pathOf(String reference) {
    return dir.resolve(Digest.of(reference.getBytes(StandardCharsets.UTF_8)).hex().substring(0, 32) + ".json");
  }
}
