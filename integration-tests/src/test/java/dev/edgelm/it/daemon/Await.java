package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/** Waits for a condition (polling every few milliseconds) instead of sleeping; the timeout only catches hangs. */
final class Await {
  static final Duration PATIENCE = Duration.ofSeconds(120);

  private Await() {}

  static void until(String what, BooleanSupplier condition) {
    until(what, condition, () -> "");
  }

  static void until(String what, BooleanSupplier condition, Supplier<String> state) {
    long deadline = System.nanoTime() + PATIENCE.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        fail("timed out after " + PATIENCE.toSeconds() + " s waiting until " + what + "; " + state.get());
      }
      LockSupport.parkNanos(10_000_000);
    }
  }
}
