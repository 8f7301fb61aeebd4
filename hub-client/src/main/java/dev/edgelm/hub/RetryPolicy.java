package dev.edgelm.hub;

import java.time.Duration;

/**
 * How often and how patiently to retry retryable failures: connection errors, HTTP 5xx and 429.
 * Other 4xx answers are never retried. The delay before retry {@code n} (1-based) is
 * {@code min(maxBackoff, initialBackoff * 2^(n-1))}, reduced by up to {@code jitter} of itself at
 * random so a fleet does not retry in lockstep; a {@code Retry-After} header replaces it when it is
 * at most {@code maxRetryAfter}, and fails the call as unavailable when longer.
 *
 * @param maxAttempts attempts per request including the first (1 = never retry)
 * @param jitter fraction in [0, 1]
 */
public record RetryPolicy(int maxAttempts, Duration initialBackoff, Duration maxBackoff, double jitter, Duration maxRetryAfter) {
  public static final int DEFAULT_MAX_ATTEMPTS = 5;
  public static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(500);
  public static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(8);
  public static final double DEFAULT_JITTER = 0.2;
  public static final Duration DEFAULT_MAX_RETRY_AFTER = Duration.ofSeconds(60);
  public static final RetryPolicy DEFAULT = new RetryPolicy(DEFAULT_MAX_ATTEMPTS, DEFAULT_INITIAL_BACKOFF,
      DEFAULT_MAX_BACKOFF, DEFAULT_JITTER, DEFAULT_MAX_RETRY_AFTER);
  /** One attempt, no retries. */
  public static final RetryPolicy NONE = new RetryPolicy(1, Duration.ZERO, Duration.ZERO, 0, Duration.ZERO);

  public RetryPolicy {
    if (maxAttempts < 1) {
      throw new IllegalArgumentException("maxAttempts must be >= 1, got " + maxAttempts);
    }
    if (jitter < 0 || jitter > 1) {
      throw new IllegalArgumentException("jitter must be in [0, 1], got " + jitter);
    }
  }

  /** The delay before retry number {@code retry} (1 = first retry), before jitter. */
  public Duration backoff(int retry) {
    long ms = initialBackoff.toMillis();
    for (int i = 1; i < retry && ms < maxBackoff.toMillis(); i++) {
      ms *= 2;
    }
    return Duration.ofMillis(Math.min(ms, maxBackoff.toMillis()));
  }

  public RetryPolicy withMaxAttempts(int n) {
    return new RetryPolicy(n, initialBackoff, maxBackoff, jitter, maxRetryAfter);
  }

  public RetryPolicy withBackoff(Duration initial, Duration max) {
    return new RetryPolicy(maxAttempts, initial, max, jitter, maxRetryAfter);
  }

  public RetryPolicy withJitter(double j) {
    return new RetryPolicy(maxAttempts, initialBackoff, maxBackoff, j, maxRetryAfter);
  }
}
