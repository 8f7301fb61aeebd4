package dev.edgelm.hub;

import java.time.Duration;

/** Waits: between retries, and to hold a bandwidth limit. Injected so tests never really sleep. */
@FunctionalInterface
public interface Sleeper {
  /** {@link Thread#sleep}. */
  Sleeper SYSTEM = d -> Thread.sleep(d.toMillis(), d.toNanosPart() % 1_000_000);

  void sleep(Duration duration) throws InterruptedException;
}
