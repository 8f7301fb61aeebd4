package dev.edgelm.hub.internal;

import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.RetryPolicy;
import dev.edgelm.hub.Sleeper;
import dev.edgelm.hub.Ticker;
import dev.edgelm.hub.UnavailableException;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.concurrent.ThreadLocalRandom;

/** Computes backoff delays (honouring {@code Retry-After}) and waits them out on the injected sleeper. */
final class Retrier {
  private final RetryPolicy policy;
  private final Ticker ticker;
  private final Sleeper sleeper;
  private final ProgressListener listener;

  Retrier(RetryPolicy policy, Ticker ticker, Sleeper sleeper, ProgressListener listener) {
    this.policy = policy;
    this.ticker = ticker;
    this.sleeper = sleeper;
    this.listener = listener;
  }

  RetryPolicy policy() {
    return policy;
  }

  /** Whether attempt number {@code attempt} (1-based, just failed) may be followed by another. */
  boolean mayRetry(int attempt) {
    return attempt < policy.maxAttempts();
  }

  /**
   * The delay before retry number {@code retry}: the server's {@code Retry-After} when given,
   * otherwise exponential backoff with jitter.
   *
   * @throws UnavailableException when the server asks for a longer wait than the policy accepts
   */
  Duration delay(int retry, String retryAfter, String what) {
    Duration asked = parseRetryAfter(retryAfter, ticker.now());
    if (asked != null) {
      if (asked.compareTo(policy.maxRetryAfter()) > 0) {
        throw new UnavailableException(what + " asks to retry after " + asked.toSeconds()
            + " s, longer than the " + policy.maxRetryAfter().toSeconds() + " s this client waits; try again later");
      }
      return asked;
    }
    Duration base = policy.backoff(retry);
    if (policy.jitter() <= 0 || base.isZero()) {
      return base;
    }
    double cut = ThreadLocalRandom.current().nextDouble() * policy.jitter();
    return Duration.ofNanos((long) (base.toNanos() * (1 - cut)));
  }

  /** Tells the listener, then sleeps; an interrupt becomes {@link CancelledException}. */
  void pause(int attempt, Duration delay, String reason) {
    listener.retrying(attempt, delay, reason);
    if (delay.isZero() || delay.isNegative()) {
      return;
    }
    try {
      sleeper.sleep(delay);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancelledException("interrupted while waiting to retry: " + reason, e);
    }
  }

  /** {@code Retry-After} as delay-seconds or an HTTP date; null when absent or unreadable. */
  static Duration parseRetryAfter(String value, Instant now) {
    if (value == null || value.isBlank()) {
      return null;
    }
    String v = value.strip();
    try {
      long seconds = Long.parseLong(v);
      return seconds < 0 ? null : Duration.ofSeconds(seconds);
    } catch (NumberFormatException ignored) {
      // Not delay-seconds: try an HTTP date.
    }
    try {
      Instant at = ZonedDateTime.parse(v, DateTimeFormatter.RFC_1123_DATE_TIME).toInstant();
      Duration d = Duration.between(now, at);
      return d.isNegative() ? Duration.ZERO : d;
    } catch (DateTimeParseException e) {
      return null;
    }
  }
}
