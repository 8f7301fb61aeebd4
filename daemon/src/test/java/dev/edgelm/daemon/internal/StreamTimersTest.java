package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class StreamTimersTest {
  private static long ms(long millis) {
    return Duration.ofMillis(millis).toNanos();
  }

  @Test
  void deadlineReached_resetInTheLastFifthOfAShortDeadline_isTheDeadline() {
    assertTrue(StreamTimers.deadlineReached(50, ms(50)));
    assertTrue(StreamTimers.deadlineReached(50, ms(41)));
    assertTrue(StreamTimers.deadlineReached(50, ms(40)));
    assertFalse(StreamTimers.deadlineReached(50, ms(39)));
  }

  @Test
  void deadlineReached_longDeadline_toleranceIsCapped() {
    assertTrue(StreamTimers.deadlineReached(60_000, ms(60_000 - 100)));
    assertFalse(StreamTimers.deadlineReached(60_000, ms(60_000 - 101)));
  }

  @Test
  void deadlineReached_noDeadline_neverReached() {
    assertFalse(StreamTimers.deadlineReached(0, ms(1_000_000)));
  }
}
