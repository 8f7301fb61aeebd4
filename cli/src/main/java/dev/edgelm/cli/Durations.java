package dev.edgelm.cli;

import java.time.Duration;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Parses durations written like 250ms, 30s, 5m or 1h (a bare number is seconds). */
final class Durations {
  private static final Pattern FORM = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h)?");

  private Durations() {}

  /** @throws IllegalArgumentException naming {@code option} when {@code text} is not a duration */
  static Duration parse(String option, String text) {
    Matcher m = FORM.matcher(text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException(option + " must be a duration such as 500ms, 30s or 5m, not '" + text + "'");
    }
    double v = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    double millis = v * switch (unit) {
      case "ms" -> 1;
      case "s" -> 1_000;
      case "m" -> 60_000;
      default -> 3_600_000;
    };
    return Duration.ofMillis(Math.round(millis));
  }

  /** {@code seconds} as M:SS, or H:MM:SS from an hour on. */
  static String clock(long seconds) {
    long s = Math.max(0, seconds);
    return s >= 3600 ? String.format(java.util.Locale.ROOT, "%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
        : String.format(java.util.Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
