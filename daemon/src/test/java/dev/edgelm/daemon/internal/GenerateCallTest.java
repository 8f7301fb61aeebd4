package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import org.junit.jupiter.api.Test;

class GenerateCallTest {
  private static long ms(long millis) {
    return Duration.ofMillis(millis).toNanos();
  }

  @Test
  void deadlineReached_resetInTheLastFifthOfAShortDeadline_isTheDeadline() {
    assertTrue(GenerateCall.deadlineReached(50, ms(50)));
    assertTrue(GenerateCall.deadlineReached(50, ms(41)));
    assertTrue(GenerateCall.deadlineReached(50, ms(40)));
    assertFalse(GenerateCall.deadlineReached(50, ms(39)));
  }

  @Test
  void deadlineReached_longDeadline_toleranceIsCapped() {
    assertTrue(GenerateCall.deadlineReached(60_000, ms(60_000 - 100)));
    assertFalse(GenerateCall.deadlineReached(60_000, ms(60_000 - 101)));
  }

  @Test
  void deadlineReached_noDeadline_neverReached() {
    assertFalse(GenerateCall.deadlineReached(0, ms(1_000_000)));
  }
}
