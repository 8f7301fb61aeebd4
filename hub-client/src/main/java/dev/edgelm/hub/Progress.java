package dev.edgelm.hub;

import java.time.Duration;
import java.util.Optional;

/**
 * A snapshot of a transfer.
 *
 * @param bytesDone bytes of the whole transfer present so far (including what the store already had)
 * @param bytesTotal bytes of the whole transfer
 * @param bytesPerSecond recent transfer rate (exponentially smoothed), 0 before it is known
 * @param file the package file being transferred, or null between files
 */
public record Progress(long bytesDone, long bytesTotal, double bytesPerSecond, String file) {
  /** Estimated time to completion at the current rate, empty while the rate is unknown. */
  public Optional<Duration> eta() {
    if (bytesPerSecond <= 0) {
      return bytesDone >= bytesTotal ? Optional.of(Duration.ZERO) : Optional.empty();
    }
    double seconds = (bytesTotal - bytesDone) / bytesPerSecond;
    return Optional.of(Duration.ofMillis((long) Math.ceil(seconds * 1000)));
  }

  /** Completed fraction in [0, 1]. */
  public double fraction() {
    return bytesTotal <= 0 ? 1.0 : Math.min(1.0, (double) bytesDone / bytesTotal);
  }
}
