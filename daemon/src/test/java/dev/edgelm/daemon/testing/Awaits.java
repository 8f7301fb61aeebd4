package dev.edgelm.daemon.testing;

import static org.junit.jupiter.api.Assertions.fail;

import java.time.Duration;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;

/**
 * Waits for a condition instead of sleeping for a guessed time: polls every few milliseconds until
 * it holds, failing with a description (and the state it last saw) after a generous timeout meant
 * only to catch hangs. There is no "until nothing changes": a test that needs a process at rest
 * waits for the condition that proves it (see {@link HeldReader}).
 */
public final class Awaits {
  public static final Duration PATIENCE = Duration.ofSeconds(60);

  private Awaits() {}

  public static void until(String what, BooleanSupplier condition) {
    until(what, condition, () -> "");
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
