package dev.edgelm.hub.testing;

import dev.edgelm.hub.Sleeper;
import dev.edgelm.hub.Ticker;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/** A ticker and a sleeper over one fake clock: sleeping advances the clock at once and is recorded. */
public final class FakeTime implements Ticker, Sleeper {
  private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
  private final Instant epoch = Instant.parse("2026-01-01T00:00:00Z");
  private final List<Duration> sleeps = new CopyOnWriteArrayList<>();

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  @Override
  public Instant now() {
    return epoch.plusNanos(nanos.get());
  }

  @Override
  public void sleep(Duration d) {
    sleeps.add(d);
    nanos.addAndGet(d.toNanos());
  }

  public void advance(Duration d) {
    nanos.addAndGet(d.toNanos());
  }

  /** Every sleep so far, in order. */
  public List<Duration> sleeps() {
    return List.copyOf(sleeps);
  }

  public Duration slept() {
    return sleeps.stream().reduce(Duration.ZERO, Duration::plus);
  }
}
