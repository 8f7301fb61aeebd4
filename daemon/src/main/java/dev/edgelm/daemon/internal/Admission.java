package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.CapacityExceededException;
import java.util.ArrayDeque;
import java.util.LinkedHashSet;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Admission control for one model: at most {@code maxConcurrent} generations run, at most
 * {@code maxQueued} wait for a slot in arrival order, and any more are refused with
 * {@link CapacityExceededException} (RESOURCE_EXHAUSTED) at once rather than queued without bound.
 *
 * <p>Threading: thread-safe. A short lock guards the counters and the queue; {@link Waiter#admitted()}
 * is called outside it, on the thread that freed the slot, and must only hand off (e.g. to the
 * waiter's event loop).
 */
final class Admission {
  /** Someone waiting for a slot. */
  interface Waiter {
    /** The waiter now holds a slot and must {@link #release()} it exactly once. */
    void admitted();
  }

  /** A slot holder that would lend its slot if a call came to wait for one (a stream paused for its reader). */
  interface Lender {
    /** A call now waits: lend the slot if still able (by {@link #release()}). Called outside the lock; must only hand off. */
    void slotWanted();
  }

  /** Outcome of {@link #enter}. */
  enum Entry {
    ADMITTED,
    QUEUED
  }

  private final String model;
  private final int maxConcurrent;
  private final int maxQueued;
  private final ReentrantLock lock = new ReentrantLock();
  private final ArrayDeque<Waiter> queue = new ArrayDeque<>();
  private final Set<Lender> lenders = new LinkedHashSet<>();
  private int running;

  Admission(String model, int maxConcurrent, int maxQueued) {
    if (maxConcurrent < 1 || maxQueued < 0) {
      throw new IllegalArgumentException("maxConcurrent must be >= 1 and maxQueued >= 0");
    }
    this.model = model;
    this.maxConcurrent = maxConcurrent;
    this.maxQueued = maxQueued;
  }

  /**
   * Takes a slot now ({@link Entry#ADMITTED}: the caller holds it) or queues {@code waiter}
   * ({@link Entry#QUEUED}: it will be told by {@link Waiter#admitted()}, unless it {@link #leave}s).
   *
   * @throws CapacityExceededException when every slot is taken and the queue is full
   */
  Entry enter(Waiter waiter) {
    Lender lender = null;
    lock.lock();
    try {
      if (running < maxConcurrent && queue.isEmpty()) {
        running++;
        return Entry.ADMITTED;
      }
      if (queue.size() < maxQueued) {
        queue.addLast(waiter);
        java.util.Iterator<Lender> first = lenders.iterator();
        if (first.hasNext()) {
          lender = first.next();
          first.remove();
        }
        return Entry.QUEUED;
      }
    } finally {
      lock.unlock();
      if (lender != null) {
        lender.slotWanted();
      }
    }
    throw new CapacityExceededException("model '" + model + "' is busy: " + maxConcurrent + " generations running and "
        + maxQueued + " waiting (its max_concurrent and max_queued); retry later");
  }

  /**
   * A running generation that lent its slot ({@link #release()}) while its reader fell behind takes one back: now
   * when one is free ({@link Entry#ADMITTED}), else first in line ({@link Entry#QUEUED}), ahead of new arrivals and
   * not counted against {@code maxQueued}: it was admitted once already.
   */
  Entry rejoin(Waiter waiter) {
    lock.lock();
    try {
      if (running < maxConcurrent && queue.isEmpty()) {
        running++;
        return Entry.ADMITTED;
      }
      queue.addFirst(waiter);
      return Entry.QUEUED;
    } finally {
      lock.unlock();
    }
  }

  /** {@code lender} holds a slot it would lend: tell it when a call comes to wait (once; offer again to be told again). */
  void offerToLend(Lender lender) {
    lock.lock();
    try {
      lenders.add(lender);
    } finally {
      lock.unlock();
    }
  }

  /** {@code lender} can no longer lend (it went on, or ended). */
  void withdrawOffer(Lender lender) {
    lock.lock();
    try {
      lenders.remove(lender);
    } finally {
      lock.unlock();
    }
  }

  /** Removes a queued waiter; false when it is not queued (it was admitted meanwhile and must release its slot). */
  boolean leave(Waiter waiter) {
    lock.lock();
    try {
      return queue.remove(waiter);
    } finally {
      lock.unlock();
    }
  }

  /** Frees a slot: hands it to the longest-waiting waiter, if any. */
  void release() {
    Waiter next;
    lock.lock();
    try {
      next = queue.pollFirst();
      if (next == null) {
        if (running == 0) {
          throw new IllegalStateException("release without a slot");
        }
        running--;
      }
    } finally {
      lock.unlock();
    }
    if (next != null) {
      next.admitted();
    }
  }

  int running() {
    lock.lock();
    try {
      return running;
    } finally {
      lock.unlock();
    }
  }

  int queued() {
    lock.lock();
    try {
      return queue.size();
    } finally {
      lock.unlock();
    }
  }

  int maxConcurrent() {
    return maxConcurrent;
  }

  int maxQueued() {
    return maxQueued;
  }
}
