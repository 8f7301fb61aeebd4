package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DeadlineExceededException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.engine.Timings;
import dev.edgelm.engine.Usage;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One generation stream, from its arrival to its end: the flow control on the stream's event loop, the same for every
 * API. What goes on the wire is its {@link StreamSink}'s business (gRPC in {@link GrpcStream}, the OpenAI HTTP API);
 * this class knows no protocol.
 *
 * <h2>Design</h2>
 *
 * <p>The stream lives on its connection's event loop (the Vert.x context); the model runs on the decode workers
 * ({@link DecodeLoop}), which post each step's message here to be written. {@link SendWindow} is the backpressure
 * handshake between the two: a worker stops (holding no thread) while {@code generation.max_buffered_messages}
 * messages are unsent or the write queue is full, and a completed write or the drain handler resumes it. What happens
 * is told to a {@link StreamEvents} listener (metrics, traces); this class imports no telemetry API.
 *
 * <p>Slow readers ({@link ReaderPauses}) do not hold slots others wait for: a paused stream lends its slot to a waiting
 * call and frees its KV cache ({@link DecodeLoop#suspend}), and takes a slot back, first in line, once its reader has
 * caught up. A pause that lasts {@code generation.stall_timeout} (on the injected scheduler) aborts the stream.
 *
 * <p>Cancellation (client cancel or disconnect, the deadline on the injected scheduler, drain timeout) cancels the
 * decode loop; a paused stream is resumed to end. Every stream ends in {@link #finish}, which reports its outcome and
 * then frees the admission slot and the model lease exactly once (reported first: once a gauge shows the stream gone,
 * its outcome is counted).
 *
 * <p>Threading: everything here is confined to the context, except the callbacks from {@link Admission} (any thread),
 * which post to it.
 *
 * @param <M> one step's message in its API's terms
 */
final class GenerationStream<M> implements ReaderPauses.Stream, DecodeLoop.Results<M> {
  private static final Logger LOG = Logger.getLogger(GenerationStream.class.getName());

  private enum Phase { NEW, QUEUED, RUNNING, DONE }

  private final Generations core;
  private final StreamSink<M> sink;
  private final StreamApi api;
  private final Context context;
  /** The client's deadline in ms from arrival, or 0 for none. */
  private final long timeoutMillis;
  private final MultiMap headers;
  private final long arrivalNanos;
  private final StreamEvents events;
  private final SendWindow window;
  private final StreamTimers timers;
  private final ReaderPauses pauses;

  private StreamRequest req;
  private ServedModel served;
  /** Its place in the model's admission; null until the model is known. */
  private StreamSlot slot;
  private LoadedModel.Lease lease;
  /** The worker side; null until the model is leased. */
  private DecodeLoop<M> loop;
  private String variant = "";

  private Phase phase = Phase.NEW;
  /** The response has ended (or the client is gone): nothing more is written. */
  private boolean responded;
  private boolean clientGone;
  private int tokensSeen;
  /** Model steps started when the cancel was issued; -1 until then. */
  private int stepsAtCancel = -1;
  private long admittedNanos;
  private long firstTokenNanos = -1;
  private GrpcStatus endStatus = GrpcStatus.OK;
  private boolean finished;

  GenerationStream(Generations core, StreamSink<M> sink, StreamApi api, Context context, long timeoutMillis, MultiMap headers) {
    this.core = core;
    this.sink = sink;
    this.api = api;
    this.context = context;
    this.timeoutMillis = timeoutMillis;
    this.headers = headers;
    this.arrivalNanos = core.ticker.read();
    this.events = core.events.create();
    this.window = new SendWindow(core.limits.maxBufferedMessages(), core.streams);
    this.timers = new StreamTimers(core.scheduler, context);
    this.pauses = new ReaderPauses(this, window, timers, core.limits.stallTimeout(), events);
  }

  // ---- context: arrival, the request, admission ------------------------------------------------

  /**
   * Starts the deadline at the stream's arrival, before its request is read: the client's clock started earlier
   * still, and a call that never sends its request ends too.
   */
  void arrived() {
    if (timeoutMillis > 0) {
      timers.deadline(Duration.ofMillis(timeoutMillis), () -> {
        if (!finished) {
          fail(new DeadlineExceededException("the deadline of " + timeoutMillis + " ms passed after " + tokensSeen + " generated tokens"));
        }
      });
    }
  }

  /** The request for this model as read from the wire; {@code request} throws when it is invalid. */
  void start(Supplier<StreamRequest> request) {
    try {
      if (core.draining()) {
        throw new NotReadyException("the daemon is draining (shutting down); retry on another instance");
      }
      req = request.get();
      events.started(req, api, headers);
      served = core.registry.served(req.model());
      slot = new StreamSlot(served.admission);
      lease = core.registry.acquire(served);
      variant = lease.loaded().model.descriptor().getId();
      loop = new DecodeLoop<>(core.decodeWorkers, core.ticker, context, window, events, req, lease, sink, this);
      pauses.attach(slot, loop, req.model());
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
        pauses.slotBack();
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
    admittedNanos = core.ticker.read();
    events.admitted(req.model());
    loop.submit();
  }

  // ---- context: results from the worker --------------------------------------------------------

  @Override
  public void step(DecodeLoop.Step<M> step) {
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
    write(step.message(), tokensSeen == 1);
  }

  private void lastStep(DecodeLoop.Step<M> step) {
    if (!responded) {
      responded = true;
      StreamSink.Ending ending = new StreamSink.Ending(variant, step.chunk().finishReason(), step.usage(), step.timings(), arrivalNanos,
          admittedNanos, firstTokenNanos, step.nanos());
      sink.end(step.message(), ending).onComplete(ar -> sent());
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

  private void write(M message, boolean firstToken) {
    sink.write(message, firstToken, variant).onComplete(ar -> {
      if (ar.failed()) {
        clientGone("a write failed: " + ar.cause().getMessage());
      }
      sent();
    });
    window.queueFull(sink.writeQueueFull());
  }

  /** A message the worker produced has left (sent, or dropped): one more may be produced. */
  private void sent() {
    window.sent();
    pauses.resumeIfPaused();
  }

  /** The transport's write queue drained. */
  void drained() {
    window.queueFull(sink.writeQueueFull());
    pauses.resumeIfPaused();
  }

  // ---- context: pauses for a slow reader ({@link ReaderPauses}) ----------------------------------------

  @Override
  public void paused(long pause) {
    pauses.paused(pause);
  }

  /** A call came to wait for this model while the stream may be paused. Any thread. */
  @Override
  public void slotWanted() {
    context.runOnContext(v -> pauses.slotWanted());
  }

  @Override
  public boolean ended() {
    return finished;
  }

  /** The reader took nothing for {@code generation.stall_timeout}: abort the stream and free its slot. */
  @Override
  public void stalled(long pause) {
    if (clientGone) {
      return;
    }
    String model = req == null ? "?" : req.model();
    LOG.info(() -> "stream for " + model + " from " + sink.remote() + " cancelled: its reader took no message for "
        + core.limits.stallTimeout().toMillis() + " ms (generation.stall_timeout); its slot is free");
    events.stalled(model);
    sink.abort();
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
      endStatus = StreamTimers.deadlineReached(timeoutMillis, core.ticker.read() - arrivalNanos) ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED;
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

  /** Ends the response with the status for {@code e} (unless it has ended) and stops the generation. */
  void fail(Throwable e) {
    if (phase == Phase.RUNNING) {
      loop.cancel(); // before the status leaves: no step starts once the client can know
    }
    if (!responded) {
      responded = true;
      StatusMapper.Failure f = StatusMapper.map(e);
      endStatus = f.status();
      if (f.status() == GrpcStatus.INTERNAL) {
        LOG.log(Level.WARNING, api.route + " failed", e);
      }
      if (!clientGone) {
        sink.fail(f);
      }
    }
    abandon();
  }

  /** Stops whatever the stream is doing; it ends in {@link #finish} once nothing is in flight. */
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
      core.streams.cancelling(true);
    }
    if (slot.stopRejoining(this)) {
      loop.submit(); // end without waiting for a slot: the step runs no model
      return;
    } // else: admitted() is on its way, and submits
    pauses.resumeIfPaused(); // a paused stream holds no worker: give it one to end (a drained one once its message has room)
  }

  // ---- context: the end -------------------------------------------------------------------------------

  private void finish(Usage usage, Timings timings) {
    if (finished) {
      return;
    }
    finished = true;
    phase = Phase.DONE;
    timers.cancel();
    boolean known = req != null && served != null;
    events.finished(new StreamEvents.Outcome(known ? req.model() : "(unknown)", api, endStatus,
        Duration.ofNanos(core.ticker.read() - arrivalNanos), usage, timings,
        firstTokenNanos < 0 ? null : Duration.ofNanos(firstTokenNanos - arrivalNanos),
        stepsAtCancel >= 0 && served != null ? loop.modelSteps() - stepsAtCancel : -1,
        variant.isEmpty() ? "" : served.name + "/" + variant));
    window.clearPause();
    if (stepsAtCancel >= 0) {
      core.streams.cancelling(false);
    }
    if (slot != null) {
      slot.release(this);
    }
    if (lease != null) {
      lease.close();
      core.registry.touch(served);
    }
    core.streams.remove(this);
  }
}
