package dev.edgelm.daemon.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition instead of sleeping for a guessed time: polls every few milliseconds until
 * it holds, failing with a description (and the state it last saw) after a generous timeout meant
 * only to catch hangs.
 */
public final class Awaits {
  public static final Duration PATIENCE = Duration.ofSeconds(60);

  private Awaits() {}

  public static void until(String what, BooleanSupplier condition) {
    until(what, condition, () -> "");
  }

  /**
   * Waits until {@code value} has stayed the same for {@code quiet} of consecutive polls (a process
   * that has come to rest, e.g. a stream stopped by backpressure), and returns it.
   */
  public static long settled(String what, java.util.function.LongSupplier value, Duration quiet) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    long last = value.getAsLong();
    long since = System.nanoTime();
    while (System.nanoTime() - since < quiet.toNanos()) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + PATIENCE.toSeconds() + " s waiting until " + what + " settles; last " + last);
      }
      LockSupport.parkNanos(2_000_000);
      long now = value.getAsLong();
      if (now != last) {
        last = now;
        since = System.nanoTime();
      }
    }
    return last;
  }

  public static void until(String what, BooleanSupplier condition, Supplier<String> state) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + PATIENCE.toSeconds() + " s waiting until " + what + "; " + state.get());
      }
      LockSupport.parkNanos(2_000_000);
    }
  }
}
