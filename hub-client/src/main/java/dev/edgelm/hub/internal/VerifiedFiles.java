package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import dev.edgelm.proto.FileDigests;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Whether store files still hold what their digest says, hashed at most once per process for each version of a file
 * ({@link FileDigests#shared()}, the cache the engine's package checks use too): a pull that reuses what the store
 * holds re-reads each file once per process, not once per pull, and a package the daemon pulled and then loads is
 * hashed once.
 */
final class VerifiedFiles {
  private VerifiedFiles() {}

  /** Whether {@code file} exists with {@code size} bytes (when non-negative) and the content {@code expected}. */
  static boolean matches(Path file, Digest expected, long size) throws IOException {
    if (!Files.isRegularFile(file) || (size >= 0 && Files.size(file) != size)) {
      return false;
    }
    return Digest.parse(FileDigests.shared().sha256(file)).equals(expected);
  }
}
