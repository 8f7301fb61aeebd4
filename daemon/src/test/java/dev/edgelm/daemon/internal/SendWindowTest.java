package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SendWindowTest {
  /** Counts what the window reports, and records the first count that breaks its bound. */
  private static final class CountingGauges implements SendWindow.Gauges {
    final int limit;
    final AtomicLong buffered = new AtomicLong();
    final AtomicLong paused = new AtomicLong();
    final AtomicReference<String> violation;

    CountingGauges(int limit, AtomicReference<String> violation) {
      this.limit = limit;
      this.violation = violation;
    }

    @Override
    public void messageBuffered(int streamUnsent) {
      buffered.incrementAndGet();
      if (streamUnsent > limit) {
        violation.compareAndSet(null, streamUnsent + " messages unsent, over the limit of " + limit);
      }
    }

    @Override
    public void messageSent() {
      buffered.decrementAndGet();
    }

    @Override
    public void paused(boolean on) {
      if (paused.addAndGet(on ? 1 : -1) < 0) {
        violation.compareAndSet(null, "the paused gauge went below zero");
      }
      if (on && ThreadLocalRandom.current().nextBoolean()) {
        Thread.yield(); // widens the race between the producer's first look and its flag: senders complete meanwhile
      }
    }
  }

  private final ExecutorService threads = Executors.newCachedThreadPool();

  @AfterEach
  void stop() {
    threads.shutdownNow();
  }

  @Test
  void pauseIfFull_atTheLimit_stopsUntilAMessageIsSent() {
    AtomicReference<String> violation = new AtomicReference<>();
    CountingGauges gauges = new CountingGauges(2, violation);
    SendWindow w = new SendWindow(2, gauges);
    w.produced();
    assertEquals(0, w.pauseIfFull());
    w.produced();
    long pause = w.pauseIfFull();
    assertNotEquals(0, pause);
    assertTrue(w.inPause(pause));
    assertEquals(1, gauges.paused.get());
    assertFalse(w.tryResume(SendWindow.Until.ROOM), "no room yet");
    w.sent();
    assertFalse(w.tryResume(SendWindow.Until.EMPTY), "a lender waits for every message");
    assertTrue(w.tryResume(SendWindow.Until.ROOM));
    assertFalse(w.tryResume(SendWindow.Until.ROOM), "one stop, one resume");
    assertFalse(w.inPause(pause));
    assertEquals(0, gauges.paused.get());
    assertNull(violation.get());
  }

  @Test
  void pauseIfFull_writeQueueFull_stopsUntilItDrains() {
    SendWindow w = new SendWindow(8, new CountingGauges(8, new AtomicReference<>()));
    w.produced();
    w.queueFull(true);
    long pause = w.pauseIfFull();
    assertNotEquals(0, pause);
    assertFalse(w.tryResume(SendWindow.Until.ROOM));
    w.queueFull(false);
    assertTrue(w.tryResume(SendWindow.Until.ROOM));
  }

  @Test
  void discard_neverStopsAndEndsAStop() {
    SendWindow w = new SendWindow(1, new CountingGauges(1, new AtomicReference<>()));
    w.produced();
    long pause = w.pauseIfFull();
    assertNotEquals(0, pause);
    w.discard();
    assertTrue(w.tryResume(SendWindow.Until.EMPTY), "nothing more is written: nothing to wait for");
    assertEquals(0, w.pauseIfFull());
  }

  @Test
  void clearPause_endsAStopOnce() {
    CountingGauges gauges = new CountingGauges(1, new AtomicReference<>());
    SendWindow w = new SendWindow(1, gauges);
    w.produced();
    assertNotEquals(0, w.pauseIfFull());
    assertTrue(w.clearPause());
    assertFalse(w.clearPause());
    assertFalse(w.tryResume(SendWindow.Until.NOW));
    assertEquals(0, gauges.paused.get());
  }

  @Test
  void limit_belowOne_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new SendWindow(0, new CountingGauges(0, new AtomicReference<>())));
  }

  /**
   * One stream per round: a producer that stops when the window is full (and, resumed, continues on a pooled thread,
   * sometimes handing over its thread between steps), senders on three threads completing writes, a thread toggling
   * writability and, in some rounds, discarding the output midway (a cancel whose status was sent). A lost wake-up leaves the round unfinished; a double resume puts the
   * producer on two threads at once; a message beyond the limit is reported by the gauges.
   */
  @Test
  void randomizedRounds_noLostWakeUp_noMessageBeyondTheLimit_noDoubleResume() throws Exception {
    long seed = System.nanoTime();
    SplittableRandom seeds = new SplittableRandom(seed);
    ExecutorService workers = Executors.newFixedThreadPool(2);
    try {
      for (int round = 0; round < 2000; round++) {
        new Round(seeds.split(), workers).run("round " + round + " of seed " + seed);
      }
    } finally {
      workers.shutdownNow();
    }
  }

  private final class Round {
    final SplittableRandom random;
    final ExecutorService workers;
    final int limit;
    final int total;
    final SendWindow.Until until;
    final boolean discardMidway;
    final AtomicReference<String> violation = new AtomicReference<>();
    final CountingGauges gauges;
    final SendWindow window;
    final ConcurrentLinkedQueue<Boolean> unsent = new ConcurrentLinkedQueue<>();
    final AtomicInteger produced = new AtomicInteger();
    final AtomicInteger running = new AtomicInteger();
    final AtomicLong stops = new AtomicLong();
    final AtomicLong resumes = new AtomicLong();
    final AtomicBoolean done = new AtomicBoolean();
    final CountDownLatch finished = new CountDownLatch(1);

    Round(SplittableRandom random, ExecutorService workers) {
      this.random = random;
      this.workers = workers;
      this.limit = 1 + random.nextInt(4);
      this.total = 20 + random.nextInt(60);
      this.until = random.nextBoolean() ? SendWindow.Until.ROOM : SendWindow.Until.EMPTY;
      this.discardMidway = random.nextInt(4) == 0;
      this.gauges = new CountingGauges(limit, violation);
      this.window = new SendWindow(limit, gauges);
    }

    void run(String name) throws Exception {
      List<java.util.concurrent.Future<?>> helpers = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        long s = random.nextLong();
        helpers.add(threads.submit(() -> sender(new SplittableRandom(s))));
      }
      long t = random.nextLong();
      helpers.add(threads.submit(() -> toggler(new SplittableRandom(t))));
      workers.execute(this::produce);
      boolean ended = finished.await(20, TimeUnit.SECONDS); // a failure detector: a lost wake-up never ends
      done.set(true);
      for (var h : helpers) {
        h.get(20, TimeUnit.SECONDS);
      }
      String state = name + " (limit " + limit + ", " + total + " messages, resume until " + until + ", discard " + discardMidway + ")";
      assertTrue(ended, "lost wake-up: the producer never finished, " + produced.get() + " produced, paused=" + window.paused()
          + ", " + state);
      assertNull(violation.get(), state);
      assertEquals(stops.get(), resumes.get(), "every stop resumed exactly once, " + state);
      assertEquals(0, gauges.paused.get(), state);
      assertEquals(0, gauges.buffered.get(), "every produced message sent, " + state);
      assertFalse(window.paused(), state);
    }

    /**
     * The decode worker: one message per step until the window is full. Two steps may never overlap; a worker that
     * has set the pause flag is done with the stream (it only returns), so a sender may resume it onto another thread
     * before {@code pauseIfFull} has returned here — that is not a double resume, and is not counted as one.
     */
    void produce() {
      while (true) {
        if (running.incrementAndGet() != 1) {
          violation.compareAndSet(null, "the producer ran on two threads at once (a double resume)");
        }
        int n = produced.incrementAndGet();
        if (!window.discarding()) {
          window.produced();
          unsent.add(Boolean.TRUE);
        }
        running.decrementAndGet();
        if (n == total) {
          finished.countDown();
          return;
        }
        long pause = window.pauseIfFull();
        if (pause != 0) {
          stops.incrementAndGet();
          return;
        }
        if (random.nextInt(8) == 0) { // hand the thread over, as a worker does when others wait
          workers.execute(this::produce);
          return;
        }
      }
    }

    /** A write completing: the message leaves, and the stream may resume. */
    void sender(SplittableRandom r) {
      while (!done.get() || !unsent.isEmpty()) {
        if (unsent.poll() != null) {
          if (r.nextBoolean()) {
            Thread.yield();
          }
          window.sent();
          resume();
        } else {
          Thread.yield();
        }
      }
    }

    /** The write queue filling and draining (the drain handler resumes). */
    void toggler(SplittableRandom r) {
      // A bounded number of drains: resuming forever would hide a lost wake-up of the senders.
      for (int toggles = r.nextInt(30); !done.get() && (toggles > 0 || discardMidway && !window.discarding()); toggles--) {
        if (discardMidway && !window.discarding() && produced.get() >= total / 2) {
          window.discard(); // the status was sent: the producer ends without waiting for room
          if (window.tryResume(SendWindow.Until.NOW)) {
            resumes.incrementAndGet();
            workers.execute(this::produce);
          }
        }
        window.queueFull(true);
        for (int i = r.nextInt(50); i > 0; i--) {
          Thread.onSpinWait();
        }
        window.queueFull(false);
        resume();
        Thread.yield();
      }
    }

    void resume() {
      if (window.tryResume(until)) {
        resumes.incrementAndGet();
        workers.execute(this::produce);
      }
    }
  }
}
