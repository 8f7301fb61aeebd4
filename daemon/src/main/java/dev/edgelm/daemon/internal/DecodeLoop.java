package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.NotReadyException;
import dev.edgelm.engine.FinishReason;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.Ticker;
import dev.edgelm.engine.Timings;
import dev.edgelm.engine.Usage;
import io.vertx.core.Context;
import java.util.List;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The worker side of one {@link GenerationStream}: runs its steps on the decode workers and posts each result to the
 * stream's event loop ({@link Results}), each step's message already encoded by the stream's {@link StreamSink}.
 *
 * <p>A worker runs steps ({@link Generation#next()}) back to back and posts each chunk to the context, which writes
 * it; the worker does not wait for the write, so the event loop is never on the decode path. When other streams wait
 * for a worker, it hands its thread over after each step (the workers interleave streams step by step); a lone stream
 * keeps its thread. After each message it asks the {@link SendWindow} for room; without, it stops, and the event loop
 * {@link #submit}s it again once the reader has caught up.
 *
 * <p>Cancellation: {@link #cancel} sets a flag that the worker turns into {@link Generation#cancel()} before its next
 * step: a step already running completes, the following one ends the generation without running the model. A stream
 * cancelled before its generation started ends with an empty last step.
 *
 * <p>Threading: runs on one decode worker at a time (executor hand-offs order them), and the generation is confined to
 * it — except {@link #suspend}, which the event loop calls while the stream is paused (no worker runs it then, and its
 * next run is submitted from there). {@link #cancel} and {@link #modelSteps} from any thread.
 */
final class DecodeLoop<M> {
  /**
   * What one step produced, handed from the worker to the context; {@code counted}: the message is one of the stream's
   * unsent messages (false once nothing more will be written). {@code usage} and {@code timings} only on the last.
   */
  record Step<M>(GenerationChunk chunk, M message, long nanos, Usage usage, Timings timings, boolean counted) {}

  /** Where the results go; every method runs on the stream's context. */
  interface Results<M> {
    void step(Step<M> step);

    /** The worker stopped for a slow reader in stop number {@code pause} ({@link SendWindow#pauseIfFull}). */
    void paused(long pause);

    /** A step failed (the generation is closed), or no worker took the stream. */
    void failed(RuntimeException e);
  }

  private final ThreadPoolExecutor workers;
  private final Ticker ticker;
  private final Context context;
  private final SendWindow window;
  private final StreamEvents events;
  private final StreamRequest req;
  private final LoadedModel.Lease lease;
  private final StreamSink<M> sink;
  private final Results<M> results;
  /** Steps that ran, or are running, the model. */
  private final AtomicInteger modelSteps = new AtomicInteger();
  private volatile boolean cancelRequested;
  /** Worker-confined (see the class notes). */
  private Generation generation;

  DecodeLoop(ThreadPoolExecutor workers, Ticker ticker, Context context, SendWindow window, StreamEvents events, StreamRequest req,
      LoadedModel.Lease lease, StreamSink<M> sink, Results<M> results) {
    this.workers = workers;
    this.ticker = ticker;
    this.context = context;
    this.window = window;
    this.events = events;
    this.req = req;
    this.lease = lease;
    this.sink = sink;
    this.results = results;
  }

  /** Hands the stream to a decode worker. Any thread. */
  void submit() {
    try {
      workers.execute(this::run);
    } catch (RejectedExecutionException e) {
      context.runOnContext(v -> results.failed(new NotReadyException("the daemon is shutting down")));
    }
  }

  /** No step starts after this returns (one running completes); the next ends the generation. Any thread. */
  void cancel() {
    cancelRequested = true;
  }

  boolean cancelRequested() {
    return cancelRequested;
  }

  int modelSteps() {
    return modelSteps.get();
  }

  /** Frees the KV cache of a paused stream; its next step rebuilds it. On the context, while no worker runs the stream. */
  void suspend() {
    if (generation != null) {
      generation.suspend();
    }
  }

  private void run() {
    while (true) {
      Step<M> step = step();
      if (step == null) {
        return; // failed: posted to the context
      }
      if (step.counted()) {
        window.produced();
      }
      context.runOnContext(v -> results.step(step));
      if (step.chunk().isLast()) {
        return;
      }
      long pause = window.pauseIfFull();
      if (pause != 0) {
        context.runOnContext(v -> results.paused(pause));
        return;
      }
      if (!workers.getQueue().isEmpty()) {
        submit(); // other streams wait for a worker: take turns
        return;
      }
    }
  }

  /** Runs one step; null when it failed (the failure is posted to the context). */
  private Step<M> step() {
    try {
      if (generation == null) {
        if (cancelRequested) {
          GenerationChunk none = new GenerationChunk(GenerationChunk.NO_TOKEN, 0f, List.of(), "", FinishReason.CANCELLED);
          return new Step<>(none, sink.encode(none, req, lease.loaded().model.languageModel().tokenizer()), ticker.read(), new Usage(0, 0), null, !window.discarding());
        }
        LoadedModel m = lease.loaded();
        generation = Generation.start(m.model.languageModel(), req.toEngine(m.model.languageModel().tokenizer(), m.contextLength, ticker, m::renderChat));
      }
      if (cancelRequested) {
        generation.cancel(); // the next step ends the generation without running the model
      } else {
        modelSteps.incrementAndGet();
      }
      GenerationChunk chunk = generation.next();
      long now = ticker.read();
      if (chunk.hasToken()) {
        events.token(req.model());
      }
      M message = sink.encode(chunk, req, lease.loaded().model.languageModel().tokenizer());
      boolean counted = !window.discarding();
      return chunk.isLast() ? new Step<>(chunk, message, now, generation.usage(), generation.timings(), counted)
          : new Step<>(chunk, message, now, null, null, counted);
    } catch (RuntimeException e) {
      if (generation != null) {
        generation.close();
      }
      context.runOnContext(v -> results.failed(e));
      return null;
    }
  }
}
