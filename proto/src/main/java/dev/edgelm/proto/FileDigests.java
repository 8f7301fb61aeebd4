package dev.edgelm.proto;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.TimeUnit;

/**
 * SHA-256 of files, computed at most once per process for each version of a file.
 *
 * <p>Why a cache: a package's weights are verified against {@code variant.json} every time the
 * package is opened, and one process may open the same package several times (config validation,
 * load, a reload after eviction, a report over many variants). A file is hashed again only when its
 * version changes: the cache key is the file's absolute path with its size, modification time,
 * change time (Linux) and file key (device and inode), read before hashing and again after; an entry is stored only
 * when both agree, so a file rewritten while it was hashed is hashed again next time. What this does
 * not catch is bytes that change underneath an unchanged stamp after they were hashed (bit rot while
 * this process runs): the next process sees them.
 *
 * <p>One cache per process for every module: the engine checks package files against
 * {@code variant.json} with it, and the hub client checks the store's blobs and pulled packages, so a
 * daemon that pulls and then loads a package hashes each file once. It lives here, beside the
 * descriptor whose digests it checks, because proto is what every module shares.
 *
 * <p>Thread-safe. Two threads asking for the same new file may both hash it; neither blocks the other.
 */
public final class FileDigests {
  /** How a file's {@code sha256:<hex>} is computed; a seam for tests that count hashes. */
  @FunctionalInterface
  public interface Hasher {
    String sha256(Path file) throws IOException;
  }

  private static final FileDigests SHARED = new FileDigests(FileDigests::hash);

  private final Hasher hasher;
  private final ConcurrentMap<Path, Entry> entries = new ConcurrentHashMap<>();

  /** A cache of its own over {@code hasher} (tests count hashes with one; {@link #shared()} is what programs use). */
  public FileDigests(Hasher hasher) {
    this.hasher = Objects.requireNonNull(hasher);
  }

  /** The process-wide instance: package opens in the engine and store checks in the hub client. */
  public static FileDigests shared() {
    return SHARED;
  }

  /**
   * {@code sha256:<hex>} of {@code file}, from the cache when the file has not changed since it was
   * last hashed.
   *
   * @throws IOException when the file cannot be read
   */
  public String sha256(Path file) throws IOException {
    Path key = file.toAbsolutePath().normalize();
    Stamp before = Stamp.of(key);
    Entry cached = entries.get(key);
    if (cached != null && cached.stamp.equals(before)) {
      return cached.digest;
    }
    String digest = hasher.sha256(key);
    if (Stamp.of(key).equals(before)) {
      entries.put(key, new Entry(before, digest));
    } else {
      entries.remove(key);
    }
    return digest;
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

  private record Entry(Stamp stamp, String digest) {}

  /** {@code sha256:<hex>} of {@code file}, read now (no cache). */
  public static String hash(Path file) throws IOException {
    MessageDigest md;
    try {
      md = MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("this JVM has no SHA-256", e);
    }
    byte[] buf = new byte[1 << 20];
    try (InputStream in = Files.newInputStream(file)) {
      for (int n; (n = in.read(buf)) > 0; ) {
        md.update(buf, 0, n);
      }
    }
    return "sha256:" + HexFormat.of().formatHex(md.digest());
  }
}
