package dev.edgelm.hub.internal;

import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.StoreException;
import dev.edgelm.hub.UnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.ExecutionException;

/**
 * The content-addressed blob area of a store, and the one place that downloads into it.
 *
 * <p>A blob reaches {@code blobs/sha256/<hex>} only by an atomic rename after its size and SHA-256
 * matched. Downloads write {@code ingest/<hex>.partial}; every byte written is also fed to the
 * running digest, so after a dropped connection the next request asks for {@code Range: bytes=<size
 * of the partial>-} and carries on. A partial left by a killed process is resumed the same way (its
 * bytes are re-hashed from disk first). A mismatch discards the partial: the next attempt starts
 * clean. Two pulls in one JVM wanting the same blob share one download (an in-flight map); across
 * processes, an exclusive OS lock on {@code ingest/<hex>.lock} makes the second wait for the first
 * and then find the blob in place.
 *
 * <p>Retries here are for failures mid-body (the target retries failed requests itself); the
 * attempt count resets whenever an attempt made progress, so a flaky link that keeps delivering
 * eventually completes.
 */
final class BlobStore {
  private static final ConcurrentMap<String, CompletableFuture<Path>> IN_FLIGHT = new ConcurrentHashMap<>();

  private final Path root;
  private final Path blobs;
  private final Path ingest;

  BlobStore(Path storeRoot) {
    this.root = storeRoot;
    this.blobs = storeRoot.resolve("blobs").resolve(Digest.ALGORITHM);
    this.ingest = storeRoot.resolve("ingest");
  }

  Path blobDir() {
    return blobs;
  }

  Path ingestDir() {
    return ingest;
  }

  Path path(Digest d) {
    return blobs.resolve(d.hex());
  }

  boolean has(Digest d, long size) {
    Path p = path(d);
    try {
      return Files.isRegularFile(p) && (size < 0 || Files.size(p) == size);
    } catch (IOException e) {
      return false;
    }
  }

  /**
   * Whether blob {@code d} is present with {@code size} bytes and content that still hashes to
   * {@code d} (hashed once per process while unchanged). A blob that does not is deleted, so the
   * next fetch downloads it again; the caller learns that it was damaged from {@link Check#DAMAGED}.
   */
  Check check(Digest d, long size) {
    Path p = path(d);
    if (!has(d, size)) {
      return Check.ABSENT;
    }
    try {
      if (VerifiedFiles.matches(p, d, size)) {
        return Check.INTACT;
      }
      Files.deleteIfExists(p);
      return Check.DAMAGED;
    } catch (NoSuchFileException e) {
      return Check.ABSENT;
    } catch (IOException e) {
      throw new StoreException("cannot read blob " + p + ": " + e.getMessage(), e);
    }
  }

  /** What {@link #check} found. */
  enum Check {
    INTACT,
    ABSENT,
    /** Present but its bytes no longer match its name: removed. */
    DAMAGED
  }

  /** Bytes of an unfinished download of {@code d}, 0 if none. */
  long partialSize(Digest d) {
    try {
      return Files.size(partial(d));
    } catch (IOException e) {
      return 0;
    }
  }

  Path partial(Digest d) {
    return ingest.resolve(d.hex() + ".partial");
  }

  Path lockFile(Digest d) {
    return ingest.resolve(d.hex() + ".lock");
  }

  /** A small blob's bytes (manifests, configs, signatures), if present and intact. */
  Optional<byte[]> read(Digest d) {
    try {
      byte[] b = Files.readAllBytes(path(d));
      if (!Digest.of(b).equals(d)) {
        Files.deleteIfExists(path(d));
        return Optional.empty();
      }
      return Optional.of(b);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new StoreException("cannot read blob " + path(d) + ": " + e.getMessage(), e);
    }
  }

  /** Stores bytes already in memory under their digest (verified by the caller or computed here). */
  void put(Digest d, byte[] bytes) {
    if (!Digest.of(bytes).equals(d)) {
      throw new IntegrityException("content for " + d + " has digest " + Digest.of(bytes));
    }
    if (has(d, bytes.length)) {
      return;
    }
    try {
      Files.createDirectories(blobs);
      Path tmp = ingest.resolve(".tmp-" + UUID.randomUUID());
      Files.createDirectories(ingest);
      Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW);
      publish(tmp, path(d));
    } catch (IOException e) {
      throw new StoreException("cannot write blob " + path(d) + ": " + e.getMessage(), e);
    }
  }

  /** What a download needs besides the blob's identity. */
  record Fetch(OciTarget source, String file, TransferMeter meter, RateLimiter limiter, Retrier retrier) {}

  /**
   * Makes blob {@code d} of {@code size} bytes present, downloading what is missing.
   *
   * @return true when nothing had to be fetched
   */
  boolean fetch(Digest d, long size, Fetch f) {
    if (has(d, size)) {
      return true;
    }
    String key = root + "|" + d.hex();
    CompletableFuture<Path> mine = new CompletableFuture<>();
    CompletableFuture<Path> running = IN_FLIGHT.putIfAbsent(key, mine);
    if (running != null) {
      await(running);
      return false;
    }
    try {
      download(d, size, f);
      mine.complete(path(d));
      return false;
    } catch (RuntimeException | Error e) {
      mine.completeExceptionally(e);
      throw e;
    } finally {
      IN_FLIGHT.remove(key, mine);
    }
  }

  private static void await(CompletableFuture<Path> running) {
    try {
      running.get();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancelledException("interrupted while waiting for a shared download", e);
    } catch (ExecutionException | CompletionException e) {
      if (e.getCause() instanceof HubException h) {
        throw h;
      }
      throw new StoreException("a shared download failed: " + e.getCause(), e.getCause());
    }
  }

  private void download(Digest d, long size, Fetch f) {
    try {
      Files.createDirectories(ingest);
      Files.createDirectories(blobs);
      try (FileChannel lockCh = FileChannel.open(lockFile(d), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock ignored = lockCh.lock()) {
        if (has(d, size)) {
          return; // another process finished it while we waited
        }
        downloadLocked(d, size, f);
      }
    } catch (IOException e) {
      throw new StoreException("cannot write to the store at " + root + ": " + e.getMessage(), e);
    }
  }

  private void downloadLocked(Digest d, long size, Fetch f) throws IOException {
    Path part = partial(d);
    MessageDigest md = Digest.sha256();
    long have;
    try (FileChannel ch = FileChannel.open(part, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      have = ch.size();
      if (have > size) {
        ch.truncate(0);
        have = 0;
      }
      hashExisting(ch, have, md);
      int failures = 0;
      while (have < size) {
        long before = have;
        try (OciTarget.BlobStream s = f.source().openBlob(d, size, have)) {
          if (s.start() != have) {
            if (s.start() != 0) {
              throw new IntegrityException(f.source().describe() + " resumed blob " + d + " at byte " + s.start() + ", not " + have);
            }
            // The server ignored the Range header: start over.
            f.meter().rewind(have);
            ch.truncate(0);
            md.reset();
            have = 0;
          }
          have = copy(s.in(), ch, md, have, size, d, f);
          if (have < size) {
            throw new IOException("connection closed after " + have + " of " + size + " bytes");
          }
        } catch (IOException e) {
          have = ch.size(); // every byte written was also hashed
          if (have > before) {
            failures = 0;
          }
          failures++;
          if (!f.retrier().mayRetry(failures)) {
            throw new UnavailableException("download of " + f.file() + " (" + d.shortHex() + ") from " + f.source().describe()
                + " broke off at byte " + have + " of " + size + ": " + e.getMessage()
                + "; pull again to resume from there", e);
          }
          f.retrier().pause(failures, f.retrier().delay(failures, null, f.source().describe()),
              f.file() + " interrupted at byte " + have + ": " + e.getMessage());
        } catch (IntegrityException e) {
          ch.close();
          Files.deleteIfExists(part);
          throw e;
        }
      }
      ch.force(false);
    }
    Digest actual = Digest.fromBytes(md.digest());
    if (!actual.equals(d)) {
      Files.deleteIfExists(part);
      throw new IntegrityException(f.file() + " from " + f.source().describe() + " is corrupt: expected " + d + ", got " + actual
          + " over " + size + " bytes; the download was discarded and nothing was installed");
    }
    publish(part, path(d));
  }

  /** Copies until EOF or {@code size}; returns the new length of the partial. */
  private static long copy(InputStream in, FileChannel ch, MessageDigest md, long have, long size, Digest d, Fetch f) throws IOException {
    byte[] buf = new byte[f.limiter().chunkSize()];
    while (have < size) {
      if (Thread.currentThread().isInterrupted()) {
        throw new CancelledException("pull interrupted at byte " + have + " of " + f.file() + "; pull again to resume");
      }
      int want = (int) Math.min(buf.length, size - have);
      int n = in.read(buf, 0, want);
      if (n < 0) {
        break;
      }
      f.limiter().acquire(n);
      try {
        ByteBuffer bb = ByteBuffer.wrap(buf, 0, n);
        long pos = have;
        while (bb.hasRemaining()) {
          pos += ch.write(bb, pos);
        }
      } catch (IOException e) {
        throw new StoreException("cannot write the partial download of " + d + ": " + e.getMessage(), e);
      }
      md.update(buf, 0, n);
      have += n;
      f.meter().advance(n);
    }
    if (have == size && in.read() >= 0) {
      throw new IntegrityException(f.file() + " from " + f.source().describe() + " is longer than the " + size
          + " bytes its manifest declares; discarded");
    }
    return have;
  }

  private static void hashExisting(FileChannel ch, long length, MessageDigest md) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(1 << 16);
    long pos = 0;
    while (pos < length) {
      buf.clear();
      int n = ch.read(buf, pos);
      if (n < 0) {
        break;
      }
      buf.flip();
      md.update(buf);
      pos += n;
    }
  }

  /** Moves a verified file to its final name atomically and makes it read-only. */
  private static void publish(Path from, Path to) throws IOException {
    Files.move(from, to, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    try {
      Files.setPosixFilePermissions(to, PosixFilePermissions.fromString("r--r--r--"));
    } catch (UnsupportedOperationException ignored) {
      // Not POSIX: the blob stays writable; package files are still verified links.
    }
  }
}
