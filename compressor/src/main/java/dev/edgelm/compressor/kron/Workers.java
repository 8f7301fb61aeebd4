package dev.edgelm.compressor.kron;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * A fixed number of worker threads for the dense kernels, owned by one compression run (closed when
 * it ends). {@link #forRange} splits an index range into one contiguous chunk per thread; with one
 * thread the work runs on the caller.
 */
final class Workers implements AutoCloseable {
  /** A body over a half-open range of indices. */
  interface RangeBody {
    void run(int from, int to);
  }

  private final int threads;
  private final ExecutorService pool;

  Workers(int threads) {
    if (threads < 1) {
      throw new IllegalArgumentException("threads must be at least 1, got " + threads);
    }
    this.threads = threads;
    this.pool = threads == 1 ? null : Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "edgelm-kron-worker");
      t.setDaemon(true);
      return t;
    });
  }

  /** Runs on the calling thread only. */
  static Workers single() {
    return new Workers(1);
  }

  int threads() {
    return threads;
  }

  /** Runs {@code body} over [0, n) in up to {@link #threads()} chunks and waits for all of them. */
  void forRange(int n, RangeBody body) {
    int chunks = Math.min(threads, n);
    if (chunks <= 1 || pool == null) {
      body.run(0, n);
      return;
    }
    List<Future<?>> futures = new ArrayList<>(chunks);
    for (int c = 0; c < chunks; c++) {
      int from = (int) ((long) n * c / chunks);
      int to = (int) ((long) n * (c + 1) / chunks);
      futures.add(pool.submit(() -> body.run(from, to)));
    }
    try {
      for (Future<?> f : futures) {
        f.get();
      }
    } catch (InterruptedException e) {
      futures.forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new IllegalStateException("interrupted", e);
    } catch (ExecutionException e) {
      futures.forEach(f -> f.cancel(true));
      Throwable cause = e.getCause();
      if (cause instanceof RuntimeException re) {
        throw re;
      }
      if (cause instanceof Error err) {
        throw err;
      }
      throw new IllegalStateException(cause);
    }
  }

  @Override
  public void close() {
    if (pool != null) {
      pool.shutdownNow();
    }
  }
}
