package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.Progress;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.Ticker;

/**
 * Turns byte counts into {@link Progress} events: totals, a smoothed rate, throttled emission. Used
 * by one transfer at a time (not thread-safe; a shared download reports to the meter of the pull
 * that started it).
 */
final class TransferMeter {
  private static final double SMOOTHING = 0.3;
  private static final long MIN_INTERVAL_NANOS = ProgressListener.MIN_INTERVAL.toNanos();

  private final ProgressListener listener;
  private final Ticker ticker;
  private long total;
  private long done;
  private long transferred;
  private String file;
  private double rate;
  private long lastEmitNanos;
  private long lastSampleNanos;
  private long lastSampleBytes;
  private boolean sampled;

  TransferMeter(ProgressListener listener, Ticker ticker) {
    this.listener = listener;
    this.ticker = ticker;
  }

  ProgressListener listener() {
    return listener;
  }

  void start(long bytesTotal, long bytesPresent, int files) {
    total = bytesTotal;
    done = bytesPresent;
    lastSampleNanos = ticker.nanoTime();
    lastEmitNanos = lastSampleNanos;
    listener.started(bytesTotal, bytesPresent, files);
  }

  void file(String name) {
    file = name;
  }

  /** Bytes moved over the network. */
  void advance(long n) {
    done += n;
    transferred += n;
    long now = ticker.nanoTime();
    if (now - lastEmitNanos >= MIN_INTERVAL_NANOS) {
      sample(now);
      lastEmitNanos = now;
      listener.progressed(snapshot());
    }
  }

  /** Bytes that had been counted but were discarded (a partial the server would not resume). */
  void rewind(long n) {
    done -= n;
  }

  /** A whole file that was present (in the store, or at the hub when publishing). */
  void skip(long n) {
    done += n;
  }

  void fileCompleted(String name, Digest digest, long size, boolean fromStore) {
    listener.fileCompleted(name, digest, size, fromStore);
    listener.progressed(snapshot());
    file = null;
  }

  void finish() {
    sample(ticker.nanoTime());
    done = Math.max(done, total);
    listener.finished(snapshot());
  }

  long transferred() {
    return transferred;
  }

  private void sample(long now) {
    long dt = now - lastSampleNanos;
    if (dt <= 0) {
      return;
    }
    double instant = (transferred - lastSampleBytes) * 1e9 / dt;
    rate = sampled ? SMOOTHING * instant + (1 - SMOOTHING) * rate : instant;
    sampled = true;
    lastSampleNanos = now;
    lastSampleBytes = transferred;
  }

  private Progress snapshot() {
    return new Progress(done, total, rate, file);
  }
}
