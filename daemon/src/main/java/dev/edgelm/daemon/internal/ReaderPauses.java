package dev.edgelm.daemon.internal;

import java.time.Duration;

/**
 * What a {@link GenerationStream} does while its worker is stopped for a slow reader ({@link SendWindow}): resumes it
 * once there is room, lends its slot to a waiting call and takes one back ({@link StreamSlot}, {@link
 * Admission.Lender}), and arms {@code generation.stall_timeout} for the pause ({@link StreamTimers}).
 *
 * <p>A lender goes on once its reader has taken every message (each time it takes a slot back it rebuilds its KV
 * cache, so it then runs until the window is full again), or at once to end; a cancelled lender ends without a slot
 * (its last step runs no model).
 *
 * <p>Threading: confined to the stream's context, like the stream.
 */
final class ReaderPauses {
  /** The stream the pauses belong to. */
  interface Stream extends Admission.Waiter, Admission.Lender {
    /** The stream has ended: nothing more to arm or lend. */
    boolean ended();

    /** Pause number {@code pause} lasted {@code generation.stall_timeout} and is still on. */
    void stalled(long pause);
  }

  private final Stream stream;
  private final SendWindow window;
  private final StreamTimers timers;
  private final Duration stallTimeout;
  private final StreamEvents events;
  private StreamSlot slot;
  private DecodeLoop<?> loop;
  private String model;

  ReaderPauses(Stream stream, SendWindow window, StreamTimers timers, Duration stallTimeout, StreamEvents events) {
    this.stream = stream;
    this.window = window;
    this.timers = timers;
    this.stallTimeout = stallTimeout;
    this.events = events;
  }

  /** The stream's slot and worker side, once its model is leased. */
  void attach(StreamSlot slot, DecodeLoop<?> loop, String model) {
    this.slot = slot;
    this.loop = loop;
    this.model = model;
  }

  /** The worker stopped in pause number {@code pause}. */
  void paused(long pause) {
    if (!stallTimeout.isZero() && !stream.ended() && window.inPause(pause)) {
      timers.stall(stallTimeout, () -> {
        if (!stream.ended() && window.inPause(pause)) {
          stream.stalled(pause);
        }
      });
    }
    lendIfWanted(pause);
  }

  /** A call came to wait for the model while the stream may be paused. */
  void slotWanted() {
    lendIfWanted(window.currentPause());
  }

  /** Resumes a paused stream when it has room (or must end); a lender takes a slot back first. */
  void resumeIfPaused() {
    if (!window.paused()) {
      return;
    }
    SendWindow.Until until = !slot.lent() ? SendWindow.Until.ROOM
        : loop.cancelRequested() ? SendWindow.Until.NOW : SendWindow.Until.EMPTY;
    if (window.tryResume(until)) {
      timers.disarmStall();
      slot.withdrawOffer(stream);
      if (slot.lent() && !loop.cancelRequested()) {
        if (slot.takeBack(stream)) {
          slotBack();
        } // else: first in line, admitted() goes on
      } else {
        loop.submit(); // a cancelled lender ends without a slot: its last step runs no model
      }
    }
  }

  /** A lent slot is back: the next step rebuilds the KV cache. */
  void slotBack() {
    events.resumed(model);
    loop.submit();
  }

  /** Lends the slot when paused (pause number {@code pause}) with a call waiting; offers to, when none waits yet. */
  private void lendIfWanted(long pause) {
    // paused: no worker runs it (loop.suspend() may touch the generation), and its next run is submitted from here
    if (!stream.ended() && slot.held() && !loop.cancelRequested() && window.inPause(pause) && slot.lendIfWanted(stream, loop::suspend)) {
      events.suspended(model);
    }
  }
}
