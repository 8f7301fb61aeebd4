package dev.edgelm.engine.chat;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** Python's {@code strftime} directives (the C locale's) for {@code strftime_now}; an unknown directive stays as written. */
final class Strftime {
  private Strftime() {}

  static String format(String format, ZonedDateTime t) {
    StringBuilder out = new StringBuilder();
    for (int i = 0; i < format.length(); i++) {
      char c = format.charAt(i);
      if (c != '%' || i + 1 == format.length()) {
        out.append(c);
        continue;
      }
      char d = format.charAt(++i);
      boolean noPad = d == '-' && i + 1 < format.length();
      if (noPad) {
        d = format.charAt(++i);
      }
      String v = switch (d) {
        case 'Y' -> Integer.toString(t.getYear());
        case 'y' -> two(t.getYear() % 100);
        case 'm' -> two(t.getMonthValue());
        case 'd' -> two(t.getDayOfMonth());
        case 'H' -> two(t.getHour());
        case 'I' -> two((t.getHour() + 11) % 12 + 1);
        case 'M' -> two(t.getMinute());
        case 'S' -> two(t.getSecond());
        case 'p' -> t.getHour() < 12 ? "AM" : "PM";
        case 'j' -> String.format(Locale.ROOT, "%03d", t.getDayOfYear());
        case 'b' -> pattern(t, "MMM");
        case 'B' -> pattern(t, "MMMM");
        case 'a' -> pattern(t, "EEE");
        case 'A' -> pattern(t, "EEEE");
        case 'Z' -> t.getZone().getId();
        case 'z' -> pattern(t, "xx");
        case '%' -> "%";
        default -> null;
      };
      if (v == null) {
        out.append('%').append(noPad ? "-" : "").append(d);
      } else {
        out.append(noPad && v.length() > 1 && v.charAt(0) == '0' ? v.substring(1) : v);
      }
    }
    return out.toString();
  }

  private static String two(int v) {
    return v < 10 ? "0" + v : Integer.toString(v);
  }

  private static String pattern(ZonedDateTime t, String p) {
    return DateTimeFormatter.ofPattern(p, Locale.ENGLISH).format(t);
  }
}
