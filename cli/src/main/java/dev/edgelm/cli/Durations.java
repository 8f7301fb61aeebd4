package dev.edgelm.cli;

import dev.edgelm.proto.Units;
import java.time.Duration;

/** Durations on the command line: flags parsed by {@link Units#parseDuration}, and progress clocks. */
final class Durations {
  private Durations() {}

  /** @throws IllegalArgumentException naming {@code option} when {@code text} is not a duration ({@link Units#parseDuration}) */
  static Duration parse(String option, String text) {
    try {
      return Units.parseDuration(text);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(option + " must be a duration such as 500ms, 30s or 5m, not '" + text + "'");
    }
  }

  /** {@code seconds} as M:SS, or H:MM:SS from an hour on. */
  static String clock(long seconds) {
    long s = Math.max(0, seconds);
    return s >= 3600 ? String.format(java.util.Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(java.util.Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
