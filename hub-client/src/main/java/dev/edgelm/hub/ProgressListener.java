package dev.edgelm.hub;

import java.time.Duration;

/**
 * Observes a pull or a publish. Every method has a no-op default, so implement only what you show.
 * Called on the thread doing the transfer (the caller's, or, when two pulls share one download, the
 * thread that started it); keep implementations quick and non-blocking. {@link #progressed} is
 * called at most every {@link #MIN_INTERVAL} of the hub's ticker, and once at the end of each file.
 */
public interface ProgressListener {
  Duration MIN_INTERVAL = Duration.ofMillis(100);

  ProgressListener NONE = new ProgressListener() {};

  /** The transfer is planned: {@code bytesTotal} over {@code files}, of which {@code bytesPresent} are already local. */
  default void started(long bytesTotal, long bytesPresent, int files) {}

  default void progressed(Progress progress) {}

  /** A file is complete and verified ({@code fromStore}: nothing had to be fetched or uploaded). */
  default void fileCompleted(String file, Digest digest, long size, boolean fromStore) {}

  /**
   * A file the store already held no longer matches its digest (damaged on disk since it was
   * stored): it was removed and is fetched again, or, offline, the pull fails.
   */
  default void damagedInStore(String file, Digest digest) {}

  /** A retryable failure happened; the next attempt starts after {@code delay}. */
  default void retrying(int attempt, Duration delay, String reason) {}

  default void finished(Progress progress) {}
}
