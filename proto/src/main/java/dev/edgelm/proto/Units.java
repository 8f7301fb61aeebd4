package dev.edgelm.proto;

import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Sizes, rates and durations as people write and read them, parsed and formatted in one place for
 * the daemon's configuration and the CLI's flags and output.
 *
 * <ul>
 *   <li>Sizes: a byte count, or a number with a binary unit — {@code 512MiB}, {@code 4GiB}, {@code 1.5G}; the unit's
 *       letter decides (K, M, G, T are powers of 1024 whether written KiB, KB or K), case-insensitively.
 *   <li>Rates: a size per second, {@code 20GiB/s} (the {@code /s} is optional).
 *   <li>Durations: {@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}; a bare number is seconds.
 * </ul>
 *
 * <p>Parsers throw {@link IllegalArgumentException} without a message: the caller names the key or flag and says what
 * it expects. Stateless and thread-safe.
 */
public final class Units {
  private static final Pattern SIZE = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*([KMGT]i?B?|B)?", Pattern.CASE_INSENSITIVE);
  private static final Pattern DURATION = Pattern.compile("(\\d+(?:\\.\\d+)?)\\s*(ms|s|m|h|d)?");
  private static final String[] BINARY = {"KiB", "MiB", "GiB", "TiB"};

  private Units() {}

  /** Bytes in {@code text} ({@code 512MiB}, {@code 4G}, {@code 1024}). */
  public static long parseSize(String text) {
    Matcher m = SIZE.matcher(text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException();
    }
    double v = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "B" : m.group(2).toUpperCase(Locale.ROOT);
    long mult = switch (unit.charAt(0)) {
      case 'K' -> 1L << 10;
      case 'M' -> 1L << 20;
      case 'G' -> 1L << 30;
      case 'T' -> 1L << 40;
      default -> 1L;
    };
    return (long) (v * mult);
  }

  /** Bytes per second in {@code text} ({@code 20GiB/s}, {@code 21474836480}); positive. */
  public static long parseRate(String text) {
    String bare = text.toLowerCase(Locale.ROOT).endsWith("/s") ? text.substring(0, text.length() - 2) : text;
    long b = parseSize(bare);
    if (b <= 0) {
      throw new IllegalArgumentException();
    }
    return b;
  }

  /** The duration in {@code text} ({@code 250ms}, {@code 30s}, {@code 5m}, {@code 1h}, {@code 2d}; a bare number is seconds). */
  public static Duration parseDuration(String text) {
    Matcher m = DURATION.matcher(text.strip());
    if (!m.matches()) {
      throw new IllegalArgumentException();
    }
    double v = Double.parseDouble(m.group(1));
    String unit = m.group(2) == null ? "s" : m.group(2);
    double millis = v * switch (unit) {
      case "ms" -> 1;
      case "s" -> 1_000;
      case "m" -> 60_000;
      case "h" -> 3_600_000;
      default -> 86_400_000;
    };
    return Duration.ofMillis(Math.round(millis));
  }

  /** {@code bytes} for people: {@code 512 B}, {@code 1.5 KiB}, {@code 120 MiB}. */
  public static String size(long bytes) {
    if (bytes < 1024) {
      return bytes + " B";
    }
    double v = bytes;
    int u = -1;
    while (v >= 1024 && u < BINARY.length - 1) {
      v /= 1024;
      u++;
    }
    return String.format(Locale.ROOT, v >= 100 ? "%.0f %s" : "%.1f %s", v, BINARY[u]);
  }

  /** {@code bytesPerSecond} for people: {@code 12.5 MiB/s}. */
  public static String rate(double bytesPerSecond) {
    return size((long) bytesPerSecond) + "/s";
  }

  /** {@code d} for people, to the second: {@code 42s}, {@code 3m05s}, {@code 2h07m}. */
  public static String duration(Duration d) {
    long s = d.toSeconds();
    if (s < 60) {
      return s + "s";
    }
    if (s < 3600) {
      return (s / 60) + "m" + String.format(Locale.ROOT, "%02d", s % 60) + "s";
    }
    return (s / 3600) + "h" + String.format(Locale.ROOT, "%02d", (s % 3600) / 60) + "m";
  }
}
