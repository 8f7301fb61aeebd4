package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class ProgressLineTest {
  private final AtomicLong now = new AtomicLong();
  private final StringWriter out = new StringWriter();

  @Test
  void inALog_aLineAtEachTenth_withRateAndTimeLeft() {
    ProgressLine p = new ProgressLine(new PrintWriter(out, true), false, "scored", now::get);
    for (long t = 1_000; t <= 100_000; t += 1_000) {
      now.addAndGet(10_000_000L); // 1,000 tokens per 10 ms: 100,000 tokens/s
      p.scored(t, 100_000);
    }
    List<String> lines = out.toString().lines().toList();
    assertEquals(9, lines.size(), out.toString());
    assertEquals("scored 10,000/100,000 tokens (10%), 100,000 tokens/s, 0:01 left", lines.get(0));
    assertTrue(lines.get(8).startsWith("scored 90,000/100,000 tokens (90%)"), lines.get(8));
  }

  @Test
  void onATerminal_oneLineRedrawnAtMostEvery200ms_thenEndedWithANewline() {
    ProgressLine p = new ProgressLine(new PrintWriter(out, true), true, "scored", now::get);
    for (long t = 1; t <= 1_000; t++) {
      now.addAndGet(1_000_000L); // 1 ms per token
      p.scored(t, 1_000);
    }
    String shown = out.toString();
    long redraws = shown.chars().filter(c -> c == '\r').count();
    assertTrue(redraws >= 5 && redraws <= 6, redraws + " redraws: " + shown);
    assertTrue(shown.endsWith("\n") && shown.stripTrailing().endsWith("\rscored 1,000/1,000 tokens (100%), 1,000 tokens/s"), shown);
  }

  @Test
  void clock_minutesAndHours() {
    assertEquals("0:59", Durations.clock(59));
    assertEquals("6:00", Durations.clock(360));
    assertEquals("1:01:01", Durations.clock(3661));
  }
}
