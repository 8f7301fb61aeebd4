package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * Digests of store files, computed at most once per process for each version of a file: the key is
 * the path with its size, modification and change time and file key (device and inode), read before and after
 * hashing; a file that changed while it was hashed is not remembered. A pull that reuses what the
 * store holds therefore re-reads each file once per process, not once per pull (the daemon pulls on
 * every load and tag change). The engine keeps its own cache of the same shape for package files
 * ({@code dev.edgelm.engine.FileDigests}); the hub client does not depend on the engine.
 *
 * <p>Thread-safe.
 */
final class VerifiedFiles {
  private static final ConcurrentMap<Path, Entry> ENTRIES = new ConcurrentHashMap<>();

  private VerifiedFiles() {}

  /** The digest of {@code file}, from the cache while the file is unchanged. */
  static Digest digest(Path file) throws IOException {
    Path key = file.toAbsolutePath().normalize();
    Stamp before = Stamp.of(key);
    Entry cached = ENTRIES.get(key);
    if (cached != null && cached.stamp.equals(before)) {
      return cached.digest;
    }
    Digest d = Digest.of(key);
    if (Stamp.of(key).equals(before)) {
      ENTRIES.put(key, new Entry(before, d));
    } else {
      ENTRIES.remove(key);
    }
    return d;
  }

  /** Whether {@code file} exists with {@code size} bytes (when non-negative) and the content {@code expected}. */
  static boolean matches(Path file, Digest expected, long size) throws IOException {
    if (!Files.isRegularFile(file) || (size >= 0 && Files.size(file) != size)) {
      return false;
    }
    return digest(file).equals(expected);
  }

  /**
   * What identifies one version of a file without reading it. On Linux the inode's change time is
   * part of it: every write moves it on and, unlike the modification time, no caller can set it
   * back, so an in-place edit that restores the old mtime is still seen.
   */
  private record Stamp(long size, long modifiedNanos, long changedNanos, Object fileKey) {
    static Stamp of(Path file) throws IOException {
      BasicFileAttributes a = Files.readAttributes(file, BasicFileAttributes.class);
      long changed = -1;
      try {
        changed = ((FileTime) Files.getAttribute(file, "unix:ctime")).to(TimeUnit.NANOSECONDS);
      } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
        // size, mtime and file key only
      }
      return new Stamp(a.size(), a.lastModifiedTime().to(TimeUnit.NANOSECONDS), changed, a.fileKey());
    }
  }

  private record Entry(Stamp stamp, Digest digest) {}
}
