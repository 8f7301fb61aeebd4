package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.CapacityExceededException;
import dev.edgelm.daemon.DeadlineExceededException;
import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.engine.FinishReason;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.Usage;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.StatusException;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * One {@code Generate} stream, from its request to its status.
 *
 * <h2>Design</h2>
 *
 * <p>The call lives on its connection's event loop (the Vert.x context); the model runs on the
 * decode workers. A worker runs steps ({@link Generation#next()}) in a loop and posts each chunk to
 * the context, which writes it; the worker does not wait for the write, so the event loop is never
 * on the decode path. When other streams are waiting for a worker, it hands its thread over after
 * each step (the workers interleave streams step by step); a lone stream keeps its thread.
 *
 * <p>Backpressure: the worker stops (and frees its thread) once {@code generation.max_buffered_messages}
 * messages it produced are not yet sent to the network, or the response's write queue is full. The
 * context resumes it when a write completes or the drain handler fires. The {@code paused} flag is
 * set before a last re-check on the worker and cleared by compare-and-set on either side, so a
 * wake-up is never lost and a stream is never resumed twice. Nothing is buffered but those few
 * messages.
 *
 * <p>Slow readers do not hold slots others wait for: when a stream pauses while calls are queued for
 * its model (or a call queues while it is paused: {@link Admission.Lender}), it lends its slot to the
 * first of them and frees its KV cache ({@link Generation#suspend()};
 * no worker runs a paused stream, so the context may touch its generation). Once its reader has taken
 * every message, it takes a slot back ({@link Admission#rejoin}: first in line) and its next step
 * rebuilds the cache from the prompt and the tokens so far. A cancelled lender ends without a slot
 * (its last step runs no model).
 *
 * <p>Stalled readers: a pause that lasts {@code generation.stall_timeout} (timed by the injected
 * {@link Scheduler}, armed on the context once the worker has stopped) resets the stream and frees
 * its slot, so a reader that takes nothing cannot hold a slot forever. Each pause has a number; a
 * timer whose pause has ended (a write resumed the stream) finds a newer number and does nothing.
 *
 * <p>Cancellation (client cancel or disconnect, deadline, drain timeout) sets a flag that the worker
 * turns into {@link Generation#cancel()} before its next step: a step already running completes, the
 * following one ends the generation without running the model. A paused stream is resumed to end.
 * Every call ends in {@link #finish}, which frees the admission slot and the model lease exactly once.
 *
 * <p>Threading: fields without a note are confined to the context; {@link #generation} is confined
 * to the worker running the stream (one at a time; executor hand-offs order them); the atomics and
 * volatiles are shared.
 */
final class GenerateCall implements Admission.Waiter, Admission.Lender {
  private static final Logger LOG = Logger.getLogger(GenerateCall.class.getName());
  private static final TextMapGetter<MultiMap> HEADERS = new TextMapGetter<>() {
    @Override
    @SuppressWarnings("deprecation") // still abstract in the API; the W3C propagator reads headers by name
    public Iterable<String> keys(MultiMap carrier) {
      return carrier.names();
    }

    @Override
    public String get(MultiMap carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private enum Phase { NEW, QUEUED, RUNNING, DONE }

  /** The most before its deadline that a client's reset still counts as the deadline firing (see {@link #deadlineReached}). */
  static final Duration DEADLINE_TOLERANCE = Duration.ofMillis(100);

  /** What one step produced, handed from the worker to the context. */
  /** {@code counted}: the message is one of the stream's buffered messages (false once nothing more will be written). */
  private record Step(GenerationChunk chunk, GenerateResponse message, long nanos, Usage usage, dev.edgelm.engine.Timings timings,
      boolean counted) {}

  private final GenerateService svc;
  private final GrpcServerRequest<GenerateRequest, GenerateResponse> request;
  private final GrpcServerResponse<GenerateRequest, GenerateResponse> response;
  private final Context context;
  private final long arrivalNanos;

  private RequestMapping req;
  private ServedModel served;
  private LoadedModel.Lease lease;
  private String variant = "";
  private Span span;
  private Span phaseSpan;
  /** The call's deadline on the injected scheduler, or null. */
  private Scheduler.Cancellable deadlineTimer;

  private Phase phase = Phase.NEW;
  private boolean started;
  private boolean holdsSlot;
  /** Paused, it lent its slot to a waiting call and freed its KV cache; it needs a slot back to go on. */
  private boolean lentSlot;
  /** Lent its slot and waits in the admission queue for one (no worker, not paused). */
  private boolean rejoining;
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

  /** Messages the worker produced that are not yet sent to the network (shared). */
  private final AtomicInteger unsent = new AtomicInteger();
  /** The worker stopped for a slow reader and holds no thread (shared). */
  private final AtomicBoolean paused = new AtomicBoolean();
  /** Steps that ran, or are running, the model (shared). */
  private final AtomicInteger modelSteps = new AtomicInteger();
  private volatile boolean queueFull;
  private volatile boolean cancelRequested;
  /**
   * The status has been sent (client gone, deadline, failure) and the generation is being cancelled:
   * nothing more is written, so the worker ends it at once and its last message is not buffered.
   * A drain cancel keeps the output (its last message is written) and waits for room like any step.
   */
  private volatile boolean discardOutput;
  /** Bumped each time the worker stops for a slow reader: tells a stall timer whether its pause is still the current one (shared). */
  private final AtomicLong pauses = new AtomicLong();
  /** The armed {@code generation.stall_timeout} timer of the current pause, or null. */
  private Scheduler.Cancellable stallTimer;
  /** Worker-confined. */
  private Generation generation;

  GenerateCall(GenerateService svc, GrpcServerRequest<GenerateRequest, GenerateResponse> request, Context context) {
    this.svc = svc;
    this.request = request;
    this.response = request.response();
    this.context = context;
    this.arrivalNanos = svc.ticker.read();
  }

  // ---- context: arrival, admission ---------------------------------------------------------

  /**
   * Starts the call's deadline ({@code grpc-timeout}) at its arrival, before its message: the
   * client's clock started earlier still, and a call that never sends its message ends too.
   */
  void arrived() {
    long timeout = request.timeout();
    if (timeout > 0) {
      deadlineTimer = svc.scheduler.schedule(() -> context.runOnContext(v -> {
        deadlineTimer = null;
        if (!finished) {
          fail(new DeadlineExceededException("the deadline of " + timeout + " ms passed after " + tokensSeen + " generated tokens"));
        }
      }), Duration.ofMillis(timeout));
    }
  }

  /** The request message as it came off the wire; decoded here so that one that does not parse gets INVALID_ARGUMENT. */
  void received(GrpcMessage message) {
    if (started || finished) {
      return; // a server-streaming call has one request message
    }
    started = true;
    GenerateRequest decoded;
    try {
      decoded = RequestDecoder.decode(message, svc.maxRequestBytes);
    } catch (BadRequestException | StatusException e) {
      svc.malformedLog.log("Generate from " + remote() + ": " + (e instanceof StatusException se ? se.message() : e.getMessage()));
      fail(e);
      return;
    }
    start(decoded);
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
      startSpan();
      served = svc.registry.served(req.model());
      lease = svc.registry.acquire(served);
      variant = lease.loaded().model.descriptor().getId();
      if (served.admission.enter(this) == Admission.Entry.ADMITTED) {
        holdsSlot = true;
        run();
      } else {
        phase = Phase.QUEUED;
      }
    } catch (RuntimeException e) {
      fail(e);
    }
  }

  /** The request message could not be read (too large, or not a GenerateRequest). */
  void invalidMessage(io.vertx.grpc.common.InvalidMessageException e) {
    if (!started && !finished) {
      started = true;
      svc.malformedLog.log("Generate from " + remote() + ": the request message is larger than server.max_request_bytes");
      fail(e instanceof io.vertx.grpc.common.MessageSizeOverflowException
          ? new CapacityExceededException("the request message is larger than server.max_request_bytes")
          : new BadRequestException("the request message is not a valid GenerateRequest"));
    }
  }

  /** The client half-closed; a call that never sent its request message is malformed. */
  void requestEnded() {
    if (!started && !finished) {
      started = true;
      svc.malformedLog.log("Generate from " + remote() + ": the call carried no complete GenerateRequest message");
      fail(new BadRequestException("the call carried no complete GenerateRequest message"));
    }
  }

  @Override
  public void admitted() {
    context.runOnContext(v -> {
      holdsSlot = true;
      if (rejoining) { // a lender's slot is back: go on (or, cancelled meanwhile, end)
        rejoining = false;
        lentSlot = false;
        submit();
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
    nextPhase("prefill");
    submit();
  }

  // ---- worker: steps --------------------------------------------------------------------------

  /** Hands the stream to a decode worker. Any thread. */
  private void submit() {
    try {
      svc.decodeWorkers.execute(this::runSteps);
    } catch (RejectedExecutionException e) {
      context.runOnContext(v -> onStepFailed(new NotReadyException("the daemon is shutting down")));
    }
  }

  private void runSteps() {
    while (true) {
      Step step = step();
      if (step == null) {
        return; // failed: posted to the context
      }
      if (step.counted()) {
        svc.streams.messageBuffered(unsent.incrementAndGet());
      }
      context.runOnContext(v -> onStep(step));
      if (step.chunk().isLast()) {
        return;
      }
      if (!mayContinue()) {
        paused.set(true);
        svc.streams.paused(true);
        // A write may have completed since the check: look again, so that no wake-up is lost.
        if (!mayContinue() || !paused.compareAndSet(true, false)) {
          long pause = pauses.incrementAndGet();
          context.runOnContext(v -> onPaused(pause));
          return;
        }
        svc.streams.paused(false);
      }
      if (!svc.decodeWorkers.getQueue().isEmpty()) {
        submit(); // other streams wait for a worker: take turns
        return;
      }
    }
  }

  /**
   * Whether the worker may run another step: there is room for its message (fewer than
   * {@code generation.max_buffered_messages} unsent, the write queue not full), or nothing more will
   * be written. A cancelled stream whose output is kept (drain) needs room for its last message too,
   * so no stream ever holds more than the bound. Any thread.
   */
  private boolean mayContinue() {
    return discardOutput || (unsent.get() < svc.limits.maxBufferedMessages() && !queueFull);
  }

  /** Runs one step; null when it failed (the failure is posted to the context). */
  private Step step() {
    try {
      if (generation == null) {
        if (cancelRequested) {
          GenerationChunk none = new GenerationChunk(GenerationChunk.NO_TOKEN, 0f, List.of(), "", FinishReason.CANCELLED);
          return new Step(none, GenerateResponse.getDefaultInstance(), svc.ticker.read(), new Usage(0, 0), null, !discardOutput);
        }
        LoadedModel m = lease.loaded();
        generation = Generation.start(m.model.languageModel(), req.toEngine(m.model.languageModel().tokenizer(), m.contextLength, svc.ticker));
      }
      if (cancelRequested) {
        generation.cancel(); // the next step ends the generation without running the model
      } else {
        modelSteps.incrementAndGet();
      }
      GenerationChunk chunk = generation.next();
      long now = svc.ticker.read();
      if (chunk.hasToken()) {
        svc.telemetry.generatedToken(req.model());
      }
      GenerateResponse message = ResponseMapping.step(chunk, req.logprobs(), req.requestId());
      boolean counted = !discardOutput;
      return chunk.isLast() ? new Step(chunk, message, now, generation.usage(), generation.timings(), counted)
          : new Step(chunk, message, now, null, null, counted);
    } catch (RuntimeException e) {
      if (generation != null) {
        generation.close();
      }
      context.runOnContext(v -> onStepFailed(e));
      return null;
    }
  }

  // ---- context: results ---------------------------------------------------------------------

  private void onStep(Step step) {
    if (step.chunk().hasToken()) {
      tokensSeen++;
      if (firstTokenNanos < 0) {
        firstTokenNanos = step.nanos();
        nextPhase("decode");
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

  private void lastStep(Step step) {
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

  private void onStepFailed(RuntimeException e) {
    fail(e);
    finish(null, null);
  }

  // ---- context: writes and backpressure ------------------------------------------------------

  private void write(GenerateResponse message) {
    response.write(message).onComplete(ar -> {
      if (ar.failed()) {
        clientGone("a write failed: " + ar.cause().getMessage());
      }
      sent();
    });
    queueFull = response.writeQueueFull();
  }

  /** A message the worker produced has left (sent, or dropped): one more may be produced. */
  private void sent() {
    unsent.decrementAndGet();
    svc.streams.messageSent();
    resumeIfPaused();
  }

  /** The response's write queue drained. */
  void drained() {
    queueFull = response.writeQueueFull();
    resumeIfPaused();
  }

  private void resumeIfPaused() {
    if (paused.get() && (lentSlot ? mayTakeSlotBack() : mayContinue()) && paused.compareAndSet(true, false)) {
      svc.streams.paused(false);
      disarmStallTimer();
      served.admission.withdrawOffer(this);
      if (lentSlot && !cancelRequested) {
        takeSlotBack();
      } else {
        submit(); // a cancelled lender ends without a slot: its last step runs no model
      }
    }
  }

  // ---- context: lending the slot while the reader catches up ---------------------------------

  /** The worker stopped for a slow reader (pause number {@code pause}). */
  private void onPaused(long pause) {
    armStallTimer(pause);
    lendIfWanted(pause);
  }

  /** A call came to wait for this model while the stream may be paused. Any thread. */
  @Override
  public void slotWanted() {
    context.runOnContext(v -> lendIfWanted(pauses.get()));
  }

  /** Lends the slot when paused (pause number {@code pause}) with a call waiting; offers to, when none waits yet. */
  private void lendIfWanted(long pause) {
    if (finished || !holdsSlot || cancelRequested || !paused.get() || pauses.get() != pause) {
      return;
    }
    if (served.admission.queued() == 0) {
      served.admission.offerToLend(this);
      if (served.admission.queued() == 0) {
        return; // told by slotWanted() when a call comes
      }
      served.admission.withdrawOffer(this); // one came meanwhile
    }
    if (generation != null) {
      generation.suspend(); // paused: no worker runs it, and its next run is submitted from here
    }
    lentSlot = true;
    holdsSlot = false;
    svc.telemetry.streamYielded(req.model());
    served.admission.release(); // to the first waiting call
  }

  /**
   * A lender goes on once its reader has taken every message (not at the first free place in the buffer: each time it
   * takes a slot back it rebuilds its KV cache, so it then runs until the buffer is full again), or to end.
   */
  private boolean mayTakeSlotBack() {
    return discardOutput || cancelRequested || (unsent.get() == 0 && !queueFull);
  }

  private void takeSlotBack() {
    if (served.admission.rejoin(this) == Admission.Entry.ADMITTED) {
      holdsSlot = true;
      lentSlot = false;
      submit();
    } else {
      rejoining = true; // admitted() submits
    }
  }

  // ---- context: stalled readers ---------------------------------------------------------------

  /**
   * Starts {@code generation.stall_timeout} for pause number {@code pause}, if the stream is still in
   * it. A pause that ended before this runs (the worker resumed itself, or a write resumed it) is
   * not timed; a timer that outlives its pause finds a newer pause number and does nothing.
   */
  private void armStallTimer(long pause) {
    Duration timeout = svc.limits.stallTimeout();
    if (timeout.isZero() || finished || !paused.get() || pauses.get() != pause) {
      return;
    }
    disarmStallTimer();
    stallTimer = svc.scheduler.schedule(() -> context.runOnContext(v -> stalled(pause)), timeout);
  }

  private void disarmStallTimer() {
    if (stallTimer != null) {
      stallTimer.cancel();
      stallTimer = null;
    }
  }

  /** The reader took nothing for {@code generation.stall_timeout}: reset the stream and free its slot. */
  private void stalled(long pause) {
    if (finished || clientGone || !paused.get() || pauses.get() != pause) {
      return;
    }
    stallTimer = null;
    String model = req == null ? "?" : req.model();
    LOG.info(() -> "stream for " + model + " from " + remote() + " cancelled: its reader took no message for "
        + svc.limits.stallTimeout().toMillis() + " ms (generation.stall_timeout); its slot is free");
    svc.telemetry.streamStalled(model);
    try {
      response.cancel(); // RST_STREAM: trailers would wait behind the data the reader does not take
    } catch (IllegalStateException closed) {
      // already reset underneath
    }
    clientGone("stalled for generation.stall_timeout");
  }

  // ---- context: cancellation and failure ----------------------------------------------------

  /** The client cancelled, disconnected, or a write failed. */
  void clientGone(String why) {
    if (clientGone || finished) {
      return;
    }
    clientGone = true;
    LOG.fine(() -> "stream for " + (req == null ? "?" : req.model()) + " ended by the client: " + why);
    if (!responded) {
      responded = true;
      endStatus = deadlineReached(request.timeout(), svc.ticker.read() - arrivalNanos) ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED;
    }
    abandon();
  }

  /**
   * Whether a client's reset {@code elapsedNanos} after arrival is its deadline firing rather than a
   * cancel. grpc-java (and most clients) reset the stream (RST_STREAM CANCEL, the same frame as a
   * cancel) when their deadline passes, and that reset reaches the daemon about when its own timer
   * would fire, often just before it: the client's clock started before the call arrived, and
   * {@code grpc-timeout} is rounded down to whole milliseconds here. So a reset in the last fifth of
   * the deadline (at most {@link #DEADLINE_TOLERANCE} before it) counts as DEADLINE_EXCEEDED.
   */
  static boolean deadlineReached(long timeoutMillis, long elapsedNanos) {
    if (timeoutMillis <= 0) {
      return false;
    }
    long timeout = Duration.ofMillis(timeoutMillis).toNanos();
    long tolerance = Math.min(timeout / 5, DEADLINE_TOLERANCE.toNanos());
    return elapsedNanos >= timeout - tolerance;
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
      cancelRequested = true; // before the status leaves: no step starts once the client can know
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
        if (served.admission.leave(this)) {
          finish(null, null);
        } // else: admitted() is on its way and will finish
      }
      case RUNNING -> cancelGeneration();
      case DONE -> { }
    }
  }

  private void cancelGeneration() {
    cancelRequested = true; // first: whoever observes the cancel below, no step starts after it
    if (responded) {
      discardOutput = true;
    }
    if (stepsAtCancel < 0) {
      stepsAtCancel = modelSteps.get();
      svc.streams.cancelling(true);
    }
    if (rejoining && served.admission.leave(this)) {
      rejoining = false;
      submit(); // end without waiting for a slot: the step runs no model
      return;
    } // else: admitted() is on its way, and submits
    resumeIfPaused(); // a paused stream holds no worker: give it one to end (a drained one once its message has room)
  }

  // ---- context: the end -----------------------------------------------------------------------

  private void finish(Usage usage, dev.edgelm.engine.Timings engineTimings) {
    if (finished) {
      return;
    }
    finished = true;
    phase = Phase.DONE;
    if (deadlineTimer != null) {
      deadlineTimer.cancel();
      deadlineTimer = null;
    }
    disarmStallTimer();
    if (served != null) {
      served.admission.withdrawOffer(this);
    }
    if (paused.compareAndSet(true, false)) {
      svc.streams.paused(false);
    }
    if (stepsAtCancel >= 0) {
      svc.streams.cancelling(false);
    }
    if (holdsSlot) {
      holdsSlot = false;
      served.admission.release();
    }
    if (lease != null) {
      lease.close();
      svc.registry.touch(served);
    }
    svc.streams.remove(this);
    record(usage, engineTimings);
  }

  private void record(Usage usage, dev.edgelm.engine.Timings engineTimings) {
    String model = req == null || served == null ? "(unknown)" : req.model();
    long now = svc.ticker.read();
    Telemetry t = svc.telemetry;
    t.requestEnded(model, endStatus, Duration.ofNanos(now - arrivalNanos));
    if (usage != null) {
      t.tokenUsage(model, usage.promptTokens(), usage.completionTokens());
    }
    if (stepsAtCancel >= 0 && served != null) {
      t.stepsAfterCancel(model, modelSteps.get() - stepsAtCancel);
    }
    if (endStatus == GrpcStatus.OK && firstTokenNanos >= 0) {
      t.timeToFirstToken(model, Duration.ofNanos(firstTokenNanos - arrivalNanos));
      if (engineTimings != null && engineTimings.decodeTokensPerSecond() > 0) {
        t.timePerOutputToken(model, 1.0 / engineTimings.decodeTokensPerSecond());
      }
    }
    endSpans(usage);
  }

  // ---- tracing --------------------------------------------------------------------------------

  private void startSpan() {
    io.opentelemetry.context.Context parent = svc.telemetry.propagator().extract(io.opentelemetry.context.Context.root(), request.headers(), HEADERS);
    span = svc.telemetry.tracer().spanBuilder(Telemetry.OPERATION_NAME + " " + req.model())
        .setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(Telemetry.OPERATION, Telemetry.OPERATION_NAME)
        .setAttribute(Telemetry.MODEL, req.model())
        .setAttribute("gen_ai.request.max_tokens", (long) req.maxTokens())
        .setAttribute("gen_ai.request.temperature", (double) req.sampling().temperature())
        .setAttribute("rpc.system", "grpc")
        .setAttribute("rpc.service", "edgelm.v1.Generation")
        .setAttribute("rpc.method", "Generate")
        .startSpan();
    if (!req.requestId().isEmpty()) {
      span.setAttribute("edgelm.request_id", req.requestId());
    }
    phaseSpan = childSpan("queue");
  }

  private Span childSpan(String name) {
    return svc.telemetry.tracer().spanBuilder(name).setParent(io.opentelemetry.context.Context.root().with(span)).startSpan();
  }

  /** Ends the current phase's span and starts {@code to}'s. */
  private void nextPhase(String to) {
    if (phaseSpan != null) {
      phaseSpan.end();
    }
    phaseSpan = span == null ? null : childSpan(to);
  }

  private void endSpans(Usage usage) {
    if (phaseSpan != null) {
      phaseSpan.end();
      phaseSpan = null;
    }
    if (span == null) {
      return;
    }
    if (usage != null) {
      span.setAttribute("gen_ai.usage.input_tokens", (long) usage.promptTokens());
      span.setAttribute("gen_ai.usage.output_tokens", (long) usage.completionTokens());
    }
    if (!variant.isEmpty()) {
      span.setAttribute("gen_ai.response.model", served.name + "/" + variant);
    }
    span.setAttribute(AttributeKey.stringKey("rpc.grpc.status"), endStatus.name());
    if (endStatus != GrpcStatus.OK && endStatus != GrpcStatus.CANCELLED) {
      span.setStatus(StatusCode.ERROR, endStatus.name().toLowerCase(Locale.ROOT));
      span.setAttribute(Telemetry.ERROR_TYPE, endStatus.name());
    }
    span.end();
  }
}
