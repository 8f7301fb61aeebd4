package dev.edgelm.hub.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.RetryPolicy;
import dev.edgelm.hub.UnavailableException;
import dev.edgelm.hub.testing.FakeTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class RetrierTest {
  private final FakeTime time = new FakeTime();

  @Test
  void retryAfter_secondsAndHttpDate() {
    Instant now = Instant.parse("2026-01-01T00:00:00Z");
    assertEquals(Duration.ofSeconds(7), Retrier.parseRetryAfter("7", now));
    assertEquals(Duration.ofSeconds(30), Retrier.parseRetryAfter("Thu, 01 Jan 2026 00:00:30 GMT", now));
    assertEquals(Duration.ZERO, Retrier.parseRetryAfter("Wed, 31 Dec 2025 23:00:00 GMT", now));
    assertNull(Retrier.parseRetryAfter("soon", now));
    assertNull(Retrier.parseRetryAfter(null, now));
  }

  @Test
  void delay_exponentialCappedAndJittered() {
    Retrier r = new Retrier(RetryPolicy.DEFAULT.withJitter(0), time, time, ProgressListener.NONE);
    assertEquals(Duration.ofMillis(500), r.delay(1, null, "x"));
    assertEquals(Duration.ofSeconds(8), r.delay(9, null, "x"));
    Retrier jittered = new Retrier(RetryPolicy.DEFAULT, time, time, ProgressListener.NONE);
    for (int i = 0; i < 100; i++) {
      Duration d = jittered.delay(2, null, "x");
      assertTrue(d.toMillis() >= 800 && d.toMillis() <= 1000, d.toString());
    }
  }

  @Test
  void delay_retryAfterBeyondPolicy_isUnavailable() {
    Retrier r = new Retrier(RetryPolicy.DEFAULT, time, time, ProgressListener.NONE);
    assertThrows(UnavailableException.class, () -> r.delay(1, "61", "registry x"));
  }

  @Test
  void rateLimiter_holdsRateOnFakeClock() {
    RateLimiter l = new RateLimiter(1000, time, time);
    long start = time.nanoTime();
    for (int i = 0; i < 100; i++) {
      l.acquire(100);
    }
    double seconds = (time.nanoTime() - start) / 1e9;
    assertTrue(seconds >= 9.9 && seconds <= 10.0, seconds + " s for 10 000 bytes at 1000 B/s");
  }
}
