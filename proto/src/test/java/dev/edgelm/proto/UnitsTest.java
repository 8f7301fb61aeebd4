package dev.edgelm.proto;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class UnitsTest {
  @Test
  void parseSize_binaryUnitsHoweverWritten() {
    assertEquals(1024, Units.parseSize("1024"));
    assertEquals(512L << 20, Units.parseSize("512MiB"));
    assertEquals(512L << 20, Units.parseSize("512 MB"));
    assertEquals(4L << 30, Units.parseSize("4g"));
    assertEquals(3L << 29, Units.parseSize("1.5GiB"));
    assertEquals(2L << 40, Units.parseSize("2TiB"));
    assertEquals(7, Units.parseSize("7B"));
  }

  @Test
  void parseSize_notASize_isRefused() {
    for (String s : new String[] {"", "MiB", "-1", "12 parsecs", "1e9"}) {
      assertThrows(IllegalArgumentException.class, () -> Units.parseSize(s), s);
    }
  }

  @Test
  void parseRate_sizePerSecond() {
    assertEquals(20L << 30, Units.parseRate("20GiB/s"));
    assertEquals(21474836480L, Units.parseRate("21474836480"));
    assertThrows(IllegalArgumentException.class, () -> Units.parseRate("0/s"));
    assertThrows(IllegalArgumentException.class, () -> Units.parseRate("fast"));
  }

  @Test
  void parseDuration_unitsAndBareSeconds() {
    assertEquals(Duration.ofMillis(250), Units.parseDuration("250ms"));
    assertEquals(Duration.ofSeconds(30), Units.parseDuration("30"));
    assertEquals(Duration.ofMillis(1500), Units.parseDuration("1.5s"));
    assertEquals(Duration.ofMinutes(5), Units.parseDuration("5m"));
    assertEquals(Duration.ofHours(1), Units.parseDuration("1h"));
    assertEquals(Duration.ofDays(2), Units.parseDuration("2d"));
    assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("soon"));
    assertThrows(IllegalArgumentException.class, () -> Units.parseDuration("5 weeks"));
  }

  @Test
  void size_rate_duration_forPeople() {
    assertEquals("1023 B", Units.size(1023));
    assertEquals("1.5 KiB", Units.size(1536));
    assertEquals("120 MiB", Units.size(120L << 20));
    assertEquals("2.0 TiB", Units.size(2L << 40));
    assertEquals("12.5 MiB/s", Units.rate(12.5 * (1 << 20)));
    assertEquals("42s", Units.duration(Duration.ofSeconds(42)));
    assertEquals("3m05s", Units.duration(Duration.ofSeconds(185)));
    assertEquals("2h07m", Units.duration(Duration.ofMinutes(127)));
  }

  @Test
  void parseSize_readsWhatSizeWrites() {
    assertEquals(120L << 20, Units.parseSize(Units.size(120L << 20).replace(" ", "")));
  }
}
