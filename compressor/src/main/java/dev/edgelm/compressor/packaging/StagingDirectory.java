package dev.edgelm.compressor.packaging;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A directory assembled beside its destination and renamed into place when complete, so that the
 * destination holds either the old contents or the new ones, never a mix.
 *
 * <p>Design. For a destination {@code DIR/NAME} the directory is {@code DIR/.NAME.partial-UUID},
 * and beside it {@code DIR/.NAME.partial-UUID.lock} is a file on which this process holds an
 * OS file lock (fcntl) for as long as it owns the partial. The kernel releases that lock when the
 * process ends however it ends — exit, SIGTERM, {@code kill -9}, a crash — so a later run tells a
 * partial another process is still writing (lock held) from one a dead process left (lock free)
 * without guessing from ages, and {@link #sweep} removes only the latter.
 *
 * <p>Replacing an existing destination takes two renames: the old one to {@code .NAME.old-UUID},
 * the new one into place; then the old one is renamed to the (now free) partial name and deleted.
 * A process killed between the two renames leaves {@code .NAME.old-UUID} and no {@code NAME}; the
 * sweep renames it back, so the user's previous package is never lost.
 *
 * <p>SIGINT and SIGTERM run the JVM's shutdown hooks: one hook, installed with the first partial,
 * deletes every partial this process still owns (and restores a replaced destination). A writer
 * thread that keeps writing after the hook ran may recreate a few files; its lock dies with the
 * process and the next sweep removes them.
 *
 * <p>Partials written by edgelm versions without lock files are removed by the sweep once nothing
 * in them has been modified for {@link #LEGACY_IDLE} (a live writer keeps touching its files).
 *
 * <p>Thread safety: an instance is used by one writer thread; {@link #commit}, {@link #close} and
 * the shutdown hook synchronize on it, so the hook never sees a half-done replacement.
 */
public final class StagingDirectory implements AutoCloseable {
  /** A partial without a lock file (made by an older edgelm) is stale after this long untouched. */
  public static final Duration LEGACY_IDLE = Duration.ofMinutes(10);

  private static final String PARTIAL = ".partial-";
  private static final String OLD = ".old-";
  private static final String LOCK = ".lock";
  private static final Pattern LEFTOVER = Pattern.compile(
      "\\.(.+)(\\.partial-|\\.old-)([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})(\\.lock)?");
  private static final Set<StagingDirectory> OWNED = ConcurrentHashMap.newKeySet();
  private static final Object HOOK_LOCK = new Object();
  private static boolean hookInstalled; // guarded by HOOK_LOCK

  private final Path target;
  private final Path dir;
  private final Path old;
  private final Path lockFile;
  private final FileChannel lockChannel;
  private final FileLock lock;
  private boolean committed; // guarded by this
  private boolean closed; // guarded by this

  private StagingDirectory(Path target, String uuid, FileChannel lockChannel, FileLock lock) {
    this.target = target;
    String name = "." + target.getFileName();
    this.dir = target.resolveSibling(name + PARTIAL + uuid);
    this.old = target.resolveSibling(name + OLD + uuid);
    this.lockFile = target.resolveSibling(name + PARTIAL + uuid + LOCK);
    this.lockChannel = lockChannel;
    this.lock = lock;
  }

  /**
   * Creates the partial directory for {@code target} (an absolute, normalized path), after
   * sweeping what dead processes left beside it.
   */
  public static StagingDirectory create(Path target) throws IOException {
    Path parent = target.getParent();
    Files.createDirectories(parent);
    sweep(parent);
    String uuid = UUID.randomUUID().toString();
    Path lockFile = target.resolveSibling("." + target.getFileName() + PARTIAL + uuid + LOCK);
    FileChannel channel = FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
    StagingDirectory s;
    try {
      s = new StagingDirectory(target, uuid, channel, channel.lock());
    } catch (IOException | RuntimeException e) {
      channel.close();
      Files.deleteIfExists(lockFile);
      throw e;
    }
    installHook();
    OWNED.add(s);
    try {
      Files.createDirectory(s.dir);
    } catch (IOException e) {
      s.close();
      throw e;
    }
    return s;
  }

  /** The directory to write into. */
  public Path dir() {
    return dir;
  }

  /**
   * Renames the partial to the destination. With {@code replace} an existing destination is moved
   * aside first (and deleted by {@link #close}); without, a non-empty destination is an error.
   */
  public synchronized void commit(boolean replace) throws IOException {
    if (closed) {
      throw new IOException("the write was interrupted (the process is stopping)");
    }
    boolean movedOld = false;
    if (Files.exists(target)) {
      if (!replace && !isEmptyDir(target)) {
        throw new FileAlreadyExistsException(target.toString(), null, "appeared while it was written");
      }
      Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
      movedOld = true;
    }
    try {
      Files.move(dir, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (movedOld) {
        Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
      }
      throw e;
    }
    committed = true;
    if (movedOld) {
      Files.move(old, dir, StandardCopyOption.ATOMIC_MOVE); // now just a partial to delete
    }
  }

  /** Deletes what is left (the partial, or the replaced destination) and releases the lock. */
  @Override
  public synchronized void close() {
    if (closed) {
      return;
    }
    closed = true;
    if (!committed && Files.exists(old) && !Files.exists(target)) {
      tryRestore(old, target);
    }
    deleteRecursively(dir);
    deleteRecursively(old);
    try {
      lock.release();
      lockChannel.close();
      Files.deleteIfExists(lockFile);
    } catch (IOException ignored) {
      // The lock dies with the channel or the process; a stale lock file is swept later.
    }
    OWNED.remove(this);
  }

  /** What a sweep found. */
  public record Swept(List<Path> removed, long bytesFreed, List<Path> restored, List<Path> inUse) {}

  /**
   * Removes the partials in {@code parent} that no live process owns, restores destinations that a
   * process killed mid-replacement left moved aside, and leaves partials another process is
   * writing. Never touches a name that is not edgelm's partial pattern.
   */
  public static Swept sweep(Path parent) {
    List<Path> removed = new ArrayList<>();
    List<Path> restored = new ArrayList<>();
    List<Path> inUse = new ArrayList<>();
    long[] bytes = {0};
    if (!Files.isDirectory(parent)) {
      return new Swept(removed, 0, restored, inUse);
    }
    List<Path> entries;
    try (Stream<Path> s = Files.list(parent)) {
      entries = s.sorted().toList();
    } catch (IOException e) {
      return new Swept(removed, 0, restored, inUse);
    }
    for (Path p : entries) {
      Matcher m = LEFTOVER.matcher(p.getFileName().toString());
      if (!m.matches() || m.group(4) != null) {
        continue; // lock files are handled with their partial
      }
      String name = m.group(1);
      Path lockFile = parent.resolve("." + name + PARTIAL + m.group(3) + LOCK);
      Owner owner = owner(lockFile, p);
      if (owner == Owner.LIVE) {
        inUse.add(p);
        continue;
      }
      if (m.group(2).equals(OLD) && !Files.exists(parent.resolve(name))) {
        if (tryRestore(p, parent.resolve(name))) {
          restored.add(parent.resolve(name));
        }
        continue;
      }
      bytes[0] += size(p);
      deleteRecursively(p);
      if (!Files.exists(p)) {
        removed.add(p);
      }
    }
    // Lock files whose partials are gone (or were never made).
    for (Path p : entries) {
      Matcher m = LEFTOVER.matcher(p.getFileName().toString());
      if (m.matches() && m.group(4) != null && owner(p, null) == Owner.DEAD) {
        Path partial = parent.resolve("." + m.group(1) + PARTIAL + m.group(3));
        Path old = parent.resolve("." + m.group(1) + OLD + m.group(3));
        if (!Files.exists(partial) && !Files.exists(old)) {
          try {
            Files.deleteIfExists(p);
          } catch (IOException ignored) {
            // Best effort.
          }
        }
      }
    }
    return new Swept(removed, bytes[0], restored, inUse);
  }

  private enum Owner { LIVE, DEAD }

  /** Whether a live process holds {@code lockFile}; without one, whether {@code partial} looks idle. */
  private static Owner owner(Path lockFile, Path partial) {
    if (Files.exists(lockFile)) {
      for (StagingDirectory s : OWNED) {
        if (s.lockFile.equals(lockFile)) {
          return Owner.LIVE; // ours: the JVM would refuse a second lock on it
        }
      }
      try (FileChannel c = FileChannel.open(lockFile, StandardOpenOption.WRITE)) {
        FileLock l = c.tryLock();
        if (l == null) {
          return Owner.LIVE;
        }
        l.release();
        return Owner.DEAD;
      } catch (OverlappingFileLockException e) {
        return Owner.LIVE;
      } catch (NoSuchFileException e) {
        return partial == null ? Owner.LIVE : owner(lockFile, partial);
      } catch (IOException e) {
        return Owner.LIVE; // cannot tell: leave it
      }
    }
    if (partial == null) {
      return Owner.LIVE;
    }
    Instant idleSince = Instant.now().minus(LEGACY_IDLE);
    return newestModification(partial).isBefore(idleSince) ? Owner.DEAD : Owner.LIVE;
  }

  private static Instant newestModification(Path root) {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.map(p -> {
        try {
          return Files.getLastModifiedTime(p);
        } catch (IOException e) {
          return FileTime.from(Instant.now()); // vanishing: someone is working on it
        }
      }).max(FileTime::compareTo).map(FileTime::toInstant).orElse(Instant.now());
    } catch (IOException | RuntimeException e) {
      return Instant.now();
    }
  }

  private static boolean tryRestore(Path old, Path target) {
    try {
      Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  private static long size(Path root) {
    try (Stream<Path> walk = Files.walk(root)) {
      return walk.filter(Files::isRegularFile).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          return 0;
        }
      }).sum();
    } catch (IOException | RuntimeException e) {
      return 0;
    }
  }

  private static void installHook() {
    synchronized (HOOK_LOCK) {
      if (!hookInstalled) {
        Runtime.getRuntime().addShutdownHook(new Thread(StagingDirectory::closeAllOwned, "edgelm-partial-cleanup"));
        hookInstalled = true;
      }
    }
  }

  /** What the shutdown hook does: close every partial this process owns. */
  static void closeAllOwned() {
    for (StagingDirectory s : List.copyOf(OWNED)) {
      s.close();
    }
  }

  static boolean isEmptyDir(Path dir) throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    }
  }

  /** Deletes a directory tree, best effort; a few passes catch files a still-running writer adds. */
  static void deleteRecursively(Path root) {
    for (int pass = 0; pass < 3 && Files.exists(root, java.nio.file.LinkOption.NOFOLLOW_LINKS); pass++) {
      try (Stream<Path> walk = Files.walk(root)) {
        walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
          try {
            Files.deleteIfExists(p);
          } catch (IOException ignored) {
            // Retried by the next pass.
          }
        });
      } catch (IOException | RuntimeException ignored) {
        // Retried by the next pass.
      }
    }
  }
}
