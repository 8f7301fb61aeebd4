package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ThrottledLogTest {
  private final AtomicLong now = new AtomicLong(1_000);
  private final List<String> lines = new ArrayList<>();
  private final ThrottledLog log = new ThrottledLog(now::get, Duration.ofSeconds(10), lines::add);

  @Test
  void log_floodWithinAnInterval_logsOneLine_thenCountsWhatItLeftOut() {
    for (int i = 0; i < 5_000; i++) {
      log.log("bad " + i);
    }
    assertEquals(List.of("bad 0"), lines);
    now.addAndGet(Duration.ofSeconds(10).toNanos() - 1);
    log.log("still within");
    assertEquals(1, lines.size(), "one nanosecond short of the interval");
    now.addAndGet(1);
    log.log("next");
    assertEquals("next (5000 more like it not logged since the last line)", lines.get(1));
    now.addAndGet(Duration.ofSeconds(30).toNanos());
    log.log("quiet");
    assertEquals("quiet", lines.get(2), "nothing was left out since the last line");
  }
}
