package dev.edgelm.daemon.internal;

/**
 * One stream's slot in its model's {@link Admission}: held, lent to a waiting call while the stream is paused for its
 * reader, or being taken back (first in line). The stream holds at most one slot and releases what it holds exactly
 * once, in {@link #release}.
 *
 * <p>Threading: confined to the stream's context; {@link Admission}'s callbacks ({@code admitted}, {@code slotWanted})
 * reach the stream on any thread and must be posted to its context before they touch this.
 */
final class StreamSlot {
  private final Admission admission;
  private boolean held;
  /** Lent to a waiting call: the stream needs a slot back to go on. */
  private boolean lent;
  /** Lent, and queued to take one back. */
  private boolean rejoining;

  StreamSlot(Admission admission) {
    this.admission = admission;
  }

  /** Takes a slot now ({@link Admission.Entry#ADMITTED}) or queues the stream ({@link Admission#enter}). */
  Admission.Entry enter(Admission.Waiter stream) {
    Admission.Entry e = admission.enter(stream);
    held = e == Admission.Entry.ADMITTED;
    return e;
  }

  /** Admission gave the stream a slot; true when it is a lent slot coming back (the stream goes on). */
  boolean admitted() {
    held = true;
    if (rejoining) {
      rejoining = false;
      lent = false;
      return true;
    }
    return false;
  }

  boolean held() {
    return held;
  }

  boolean lent() {
    return lent;
  }

  /**
   * Lends the held slot to the first waiting call, running {@code beforeLending} first (freeing the KV cache); when no
   * call waits, offers to lend ({@link Admission.Lender#slotWanted} tells the stream when one comes). True when lent.
   */
  boolean lendIfWanted(Admission.Lender stream, Runnable beforeLending) {
    if (admission.queued() == 0) {
      admission.offerToLend(stream);
      if (admission.queued() == 0) {
        return false;
      }
      admission.withdrawOffer(stream); // one came meanwhile
    }
    beforeLending.run();
    lent = true;
    held = false;
    admission.release(); // to the first waiting call
    return true;
  }

  /** The stream can no longer lend (it went on). */
  void withdrawOffer(Admission.Lender stream) {
    admission.withdrawOffer(stream);
  }

  /** Takes a lent slot back: true when it is back now; false when the stream waits first in line ({@link #admitted} follows). */
  boolean takeBack(Admission.Waiter stream) {
    if (admission.rejoin(stream) == Admission.Entry.ADMITTED) {
      held = true;
      lent = false;
      return true;
    }
    rejoining = true;
    return false;
  }

  /** Stops waiting to take a lent slot back; true when it was waiting (else {@link #admitted} is on its way, or it was not). */
  boolean stopRejoining(Admission.Waiter stream) {
    if (rejoining && admission.leave(stream)) {
      rejoining = false;
      return true;
    }
    return false;
  }

  /** Leaves the admission queue; false when a slot is on its way ({@link #admitted} follows). */
  boolean leaveQueue(Admission.Waiter stream) {
    return admission.leave(stream);
  }

  /** At the stream's end: withdraws an offer to lend and frees a held slot. */
  void release(Admission.Lender stream) {
    admission.withdrawOffer(stream);
    if (held) {
      held = false;
      admission.release();
    }
  }
}
