package dev.edgelm.hub.internal;

import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.StoreException;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.locks.ReentrantReadWriteLock;

/**
 * Readers-writer lock over a store, across threads and processes: pulls hold it shared, garbage
 * collection exclusive. In one JVM a read-write lock orders threads and the first reader takes a
 * shared OS file lock on {@code store.lock} for all of them (OS file locks belong to the process and
 * must not overlap within it); the writer takes an exclusive one.
 */
final class StoreLock {
  private static final ConcurrentMap<Path, StoreLock> LOCKS = new ConcurrentHashMap<>();

  private final Path file;
  private final ReentrantReadWriteLock rw = new ReentrantReadWriteLock();
  private int readers;
  private FileChannel channel;
  private FileLock osLock;

  private StoreLock(Path file) {
    this.file = file;
  }

  static StoreLock of(Path storeRoot) {
    return LOCKS.computeIfAbsent(storeRoot, r -> new StoreLock(r.resolve("store.lock")));
  }

  /** Held while a pull, publish bookkeeping or listing runs. */
  /** A held lock; closing releases it. */
  interface Held extends AutoCloseable {
    @Override
    void close();
  }

  Held shared() {
    lock(rw.readLock());
    try {
      synchronized (this) {
        if (readers++ == 0) {
          osLock = channel().lock(0, Long.MAX_VALUE, true);
        }
      }
    } catch (IOException | RuntimeException e) {
      synchronized (this) {
        readers--;
      }
      rw.readLock().unlock();
      throw failure(e);
    }
    return () -> {
      synchronized (this) {
        if (--readers == 0) {
          releaseOs();
        }
      }
      rw.readLock().unlock();
    };
  }

  /** Held by garbage collection. */
  Held exclusive() {
    lock(rw.writeLock());
    try {
      synchronized (this) {
        osLock = channel().lock(0, Long.MAX_VALUE, false);
      }
    } catch (IOException | RuntimeException e) {
      rw.writeLock().unlock();
      throw failure(e);
    }
    return () -> {
      synchronized (this) {
        releaseOs();
      }
      rw.writeLock().unlock();
    };
  }

  private static void lock(java.util.concurrent.locks.Lock l) {
    try {
      l.lockInterruptibly();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancelledException("interrupted while waiting for the store lock", e);
    }
  }

  private FileChannel channel() throws IOException {
    if (channel == null || !channel.isOpen()) {
      channel = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
    }
    return channel;
  }

  private void releaseOs() {
    try {
      if (osLock != null) {
        osLock.release();
      }
    } catch (IOException ignored) {
      // Released when the channel closes or the process ends.
    }
    osLock = null;
  }

  private RuntimeException failure(Exception e) {
    if (e instanceof RuntimeException r) {
      return r;
    }
    return new StoreException("cannot lock " + file + ": " + e.getMessage(), e);
  }
}
