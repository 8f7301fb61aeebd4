package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DeadlineExceededException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.engine.Timings;
import dev.edgelm.engine.Usage;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import io.vertx.core.Context;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import java.time.Duration;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One {@code Generate} stream, from its request to its status: the flow control on the stream's event loop.
 *
 * <h2>Design</h2>
 *
 * <p>The call lives on its connection's event loop (the Vert.x context); the model runs on the decode workers
 * ({@link DecodeLoop}), which post each step's message here to be written. {@link SendWindow} is the backpressure
 * handshake between the two: a worker stops (holding no thread) while {@code generation.max_buffered_messages}
 * messages are unsent or the write queue is full, and a completed write or the drain handler resumes it. What happens
 * is told to a {@link StreamEvents} listener (metrics, traces); this class imports no telemetry API.
 *
 * <p>Slow readers do not hold slots others wait for: when a stream pauses while calls are queued for its model (or a
 * call queues while it is paused: {@link Admission.Lender}), it lends its slot to the first of them and frees its KV
 * cache ({@link DecodeLoop#suspend}). Once its reader has taken every message, it takes a slot back ({@link
 * StreamSlot}: first in line) and its next step rebuilds the cache from the prompt and the tokens so far. A cancelled
 * lender ends without a slot (its last step runs no model).
 *
 * <p>Stalled readers: a pause that lasts {@code generation.stall_timeout} ({@link StreamTimers}, on the injected
 * scheduler, armed once the worker has stopped) resets the stream and frees its slot, so a reader that takes nothing
 * cannot hold a slot forever. A timer whose pause has ended finds a newer pause number and does nothing.
 *
 * <p>Cancellation (client cancel or disconnect, the deadline on the injected scheduler, drain timeout) cancels the
 * decode loop; a paused stream is resumed to end. Every call ends in {@link #finish}, which frees the admission slot and
 * the model lease exactly once.
 *
 * <p>Threading: everything here is confined to the context, except the callbacks from {@link Admission} (any thread),
 * which post to it.
 */
final class GenerateCall implements Admission.Waiter, Admission.Lender, DecodeLoop.Results {
  private static final Logger LOG = Logger.getLogger(GenerateCall.class.getName());

  private enum Phase { NEW, QUEUED, RUNNING, DONE }

  private final GenerateService svc;
  private final GrpcServerRequest<GenerateRequest, GenerateResponse> request;
  private final GrpcServerResponse<GenerateRequest, GenerateResponse> response;
  private final Context context;
  private final long arrivalNanos;
  private final StreamEvents events;
  private final SendWindow window;
  private final StreamTimers timers;

  private RequestMapping req;
  private ServedModel served;
  /** Its place in the model's admission; null until the model is known. */
  private StreamSlot slot;
  private LoadedModel.Lease lease;
  /** The worker side; null until the model is leased. */
  private DecodeLoop loop;
  private String variant = "";

  private Phase phase = Phase.NEW;
  /** A status has been sent (or the client is gone): nothing more is written. */
  private boolean responded;
  private boolean clientGone;
  private int tokensSeen;
  /** Model steps started when the cancel was issued; -1 until then. */
  private int stepsAtCancel = -1;
  private long admittedNanos;
  private long firstTokenNanos = -1;
  private GrpcStatus endStatus = GrpcStatus.OK;
  private boolean finished;

  GenerateCall(GenerateService svc, GrpcServerRequest<GenerateRequest, GenerateResponse> request, Context context) {
    this.svc = svc;
    this.request = request;
    this.response = request.response();
    this.context = context;
    this.arrivalNanos = svc.ticker.read();
    this.events = svc.events.create();
    this.window = new SendWindow(svc.limits.maxBufferedMessages(), svc.streams);
    this.timers = new StreamTimers(svc.scheduler, context);
  }

  // ---- context: arrival, the request message, admission ---------------------------------------

  /**
   * Starts the call's deadline ({@code grpc-timeout}) at its arrival, before its message: the
   * client's clock started earlier still, and a call that never sends its message ends too.
   */
  void arrived() {
    long timeout = request.timeout();
    if (timeout > 0) {
      timers.deadline(Duration.ofMillis(timeout), () -> {
        if (!finished) {
          fail(new DeadlineExceededException("the deadline of " + timeout + " ms passed after " + tokensSeen + " generated tokens"));
        }
      });
    }
  }

  /** The request message could not be used (see {@link RequestIntake}): logs it (throttled) and refuses the call. */
  void malformed(String why, Throwable e) {
    svc.malformedLog.log("Generate from " + remote() + ": " + why);
    fail(e);
  }

  boolean finished() {
    return finished;
  }

  private String remote() {
    try {
      return String.valueOf(request.connection().remoteAddress());
    } catch (RuntimeException e) {
      return "?";
    }
  }

  void start(GenerateRequest message) {
    try {
      if (svc.draining()) {
        throw new NotReadyException("the daemon is draining (shutting down); retry on another instance");
      }
      req = RequestMapping.of(message, svc.limits.defaultMaxTokens());
      events.started(req, request.headers());
      served = svc.registry.served(req.model());
      slot = new StreamSlot(served.admission);
      lease = svc.registry.acquire(served);
      variant = lease.loaded().model.descriptor().getId();
      loop = new DecodeLoop(svc.decodeWorkers, svc.ticker, context, window, events, req, lease, this);
      if (slot.enter(this) == Admission.Entry.ADMITTED) {
        run();
      } else {
        phase = Phase.QUEUED;
      }
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  @Override
  public void admitted() {
    context.runOnContext(v -> {
      if (slot.admitted()) { // a lender's slot is back: go on (or, cancelled meanwhile, end)
        slotBack();
        return;
      }
      if (responded || phase != Phase.QUEUED) {
        finish(null, null); // gave up while the slot was on its way: hand it on
      } else {
        run();
      }
    });
  }

  private void run() {
    phase = Phase.RUNNING;
    admittedNanos = svc.ticker.read();
    events.admitted(req.model());
    loop.submit();
  }

  // ---- context: results from the worker --------------------------------------------------------

  @Override
  public void step(DecodeLoop.Step step) {
    if (step.chunk().hasToken()) {
      tokensSeen++;
      if (firstTokenNanos < 0) {
        firstTokenNanos = step.nanos();
        events.firstToken(req.model());
      }
    }
    if (step.chunk().isLast()) {
      lastStep(step);
      return;
    }
    if (responded) {
      if (step.counted()) {
        sent(); // cancelled: the message is dropped, the worker is ending the generation
      }
      return;
    }
    write(tokensSeen == 1 ? step.message().toBuilder().setVariant(variant).build() : step.message());
  }

  private void lastStep(DecodeLoop.Step step) {
    if (!responded) {
      responded = true;
      GenerateResponse last = ResponseMapping.last(step.message(), variant, step.chunk().finishReason(), step.usage(),
          ResponseMapping.timings(arrivalNanos, admittedNanos, firstTokenNanos, step.nanos(),
              step.timings() == null ? 0 : step.timings().decodeTokensPerSecond()));
      response.end(last).onComplete(ar -> sent());
    } else if (step.counted()) {
      sent();
    }
    finish(step.usage(), step.timings());
  }

  @Override
  public void failed(RuntimeException e) {
    fail(e);
    finish(null, null);
  }

  // ---- context: writes and backpressure ----------------------------------------------------------

  private void write(GenerateResponse message) {
    response.write(message).onComplete(ar -> {
      if (ar.failed()) {
        clientGone("a write failed: " + ar.cause().getMessage());
      }
      sent();
    });
    window.queueFull(response.writeQueueFull());
  }

  /** A message the worker produced has left (sent, or dropped): one more may be produced. */
  private void sent() {
    window.sent();
    resumeIfPaused();
  }

  /** The response's write queue drained. */
  void drained() {
    window.queueFull(response.writeQueueFull());
    resumeIfPaused();
  }

  private void resumeIfPaused() {
    if (!window.paused()) {
      return;
    }
    // A lender goes on once its reader has taken every message (each time it takes a slot back it rebuilds its KV
    // cache, so it then runs until the window is full again), or at once to end.
    SendWindow.Until until = !slot.lent() ? SendWindow.Until.ROOM
        : loop.cancelRequested() ? SendWindow.Until.NOW : SendWindow.Until.EMPTY;
    if (window.tryResume(until)) {
      timers.disarmStall();
      slot.withdrawOffer(this);
      if (slot.lent() && !loop.cancelRequested()) {
        takeSlotBack();
      } else {
        loop.submit(); // a cancelled lender ends without a slot: its last step runs no model
      }
    }
  }

  // ---- context: lending the slot while the reader catches up ---------------------------------------

  @Override
  public void paused(long pause) {
    armStallTimer(pause);
    lendIfWanted(pause);
  }

  /** A call came to wait for this model while the stream may be paused. Any thread. */
  @Override
  public void slotWanted() {
    context.runOnContext(v -> lendIfWanted(window.currentPause()));
  }

  /** Lends the slot when paused (pause number {@code pause}) with a call waiting; offers to, when none waits yet. */
  private void lendIfWanted(long pause) {
    // paused: no worker runs it (loop.suspend() may touch the generation), and its next run is submitted from here
    if (!finished && slot.held() && !loop.cancelRequested() && window.inPause(pause) && slot.lendIfWanted(this, loop::suspend)) {
      events.suspended(req.model());
    }
  }

  private void takeSlotBack() {
    if (slot.takeBack(this)) {
      slotBack();
    } // else: first in line, admitted() goes on
  }

  private void slotBack() {
    events.resumed(req.model());
    loop.submit();
  }

  // ---- context: stalled readers ----------------------------------------------------------------------

  /** Starts {@code generation.stall_timeout} for pause number {@code pause}, if the stream is still in it. */
  private void armStallTimer(long pause) {
    Duration timeout = svc.limits.stallTimeout();
    if (timeout.isZero() || finished || !window.inPause(pause)) {
      return;
    }
    timers.stall(timeout, () -> stalled(pause));
  }

  /** The reader took nothing for {@code generation.stall_timeout}: reset the stream and free its slot. */
  private void stalled(long pause) {
    if (finished || clientGone || !window.inPause(pause)) {
      return;
    }
    String model = req == null ? "?" : req.model();
    LOG.info(() -> "stream for " + model + " from " + remote() + " cancelled: its reader took no message for "
        + svc.limits.stallTimeout().toMillis() + " ms (generation.stall_timeout); its slot is free");
    events.stalled(model);
    try {
      response.cancel(); // RST_STREAM: trailers would wait behind the data the reader does not take
    } catch (IllegalStateException closed) {
      // already reset underneath
    }
    clientGone("stalled for generation.stall_timeout");
  }

  // ---- context: cancellation and failure -------------------------------------------------------------

  /** The client cancelled, disconnected, or a write failed. */
  void clientGone(String why) {
    if (clientGone || finished) {
      return;
    }
    clientGone = true;
    LOG.fine(() -> "stream for " + (req == null ? "?" : req.model()) + " ended by the client: " + why);
    if (!responded) {
      responded = true;
      endStatus = StreamTimers.deadlineReached(request.timeout(), svc.ticker.read() - arrivalNanos) ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED;
    }
    abandon();
  }

  /** Drain timeout: a running generation ends with finish reason CANCELLED (status OK); a queued one is refused. */
  void drainCancel() {
    context.runOnContext(v -> {
      if (phase == Phase.RUNNING) {
        cancelGeneration();
      } else if (!finished) {
        fail(new NotReadyException("the daemon is draining (shutting down); retry on another instance"));
      }
    });
  }

  /** Sends the status for {@code e} (unless one was sent) and stops the generation. */
  private void fail(Throwable e) {
    if (phase == Phase.RUNNING) {
      loop.cancel(); // before the status leaves: no step starts once the client can know
    }
    if (!responded) {
      responded = true;
      StatusMapper.Failure f = StatusMapper.map(e);
      endStatus = f.status();
      if (f.status() == GrpcStatus.INTERNAL) {
        LOG.log(Level.WARNING, "Generate failed", e);
      }
      if (!clientGone) {
        try {
          response.status(f.status()).statusMessage(f.message()).end();
        } catch (IllegalStateException closed) {
          // the stream was already reset or ended underneath: nothing left to tell the client
        }
      }
    }
    abandon();
  }

  /** Stops whatever the call is doing; it ends in {@link #finish} once nothing is in flight. */
  private void abandon() {
    switch (phase) {
      case NEW -> finish(null, null);
      case QUEUED -> {
        if (slot.leaveQueue(this)) {
          finish(null, null);
        } // else: admitted() is on its way and will finish
      }
      case RUNNING -> cancelGeneration();
      case DONE -> { }
    }
  }

  private void cancelGeneration() {
    loop.cancel(); // first: whoever observes the cancel below, no step starts after it
    if (responded) {
      window.discard();
    }
    if (stepsAtCancel < 0) {
      stepsAtCancel = loop.modelSteps();
      svc.streams.cancelling(true);
    }
    if (slot.stopRejoining(this)) {
      loop.submit(); // end without waiting for a slot: the step runs no model
      return;
    } // else: admitted() is on its way, and submits
    resumeIfPaused(); // a paused stream holds no worker: give it one to end (a drained one once its message has room)
  }

  // ---- context: the end -------------------------------------------------------------------------------

  private void finish(Usage usage, Timings timings) {
    if (finished) {
      return;
    }
    finished = true;
    phase = Phase.DONE;
    timers.cancel();
    window.clearPause();
    if (stepsAtCancel >= 0) {
      svc.streams.cancelling(false);
    }
    if (slot != null) {
      slot.release(this);
    }
    if (lease != null) {
      lease.close();
      svc.registry.touch(served);
    }
    svc.streams.remove(this);
    boolean known = req != null && served != null;
    events.finished(new StreamEvents.Outcome(known ? req.model() : "(unknown)", endStatus,
        Duration.ofNanos(svc.ticker.read() - arrivalNanos), usage, timings,
        firstTokenNanos < 0 ? null : Duration.ofNanos(firstTokenNanos - arrivalNanos),
        stepsAtCancel >= 0 && served != null ? loop.modelSteps() - stepsAtCancel : -1,
        variant.isEmpty() ? "" : served.name + "/" + variant));
  }
}
