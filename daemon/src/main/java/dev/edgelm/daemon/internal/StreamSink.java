package dev.edgelm.daemon.internal;

import dev.edgelm.engine.FinishReason;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.Timings;
import dev.edgelm.engine.Usage;
import dev.edgelm.engine.tokenizer.Tokenizer;
import io.vertx.core.Future;

/**
 * Where one {@link GenerationStream} goes on the wire: the API's side of a stream (gRPC's {@code GenerateResponse}
 * messages in {@link GrpcStream}, the OpenAI API's JSON or server-sent events in {@link OpenAiStream}). The stream owns flow control —
 * admission, the decode loop, backpressure, timers, cancellation — and tells its sink only what to write; the sink
 * knows nothing of slots or workers.
 *
 * <p>Threading: {@link #encode} runs on the decode worker that ran the step (so an event loop never builds messages);
 * every other method on the stream's context.
 *
 * @param <M> one step's message in the API's terms
 */
interface StreamSink<M> {
  /** The message of one step ({@code tokenizer}: the served model's, for token text). On the decode worker. */
  M encode(GenerationChunk chunk, StreamRequest request, Tokenizer tokenizer);

  /**
   * Writes a step's message (not the last). {@code firstToken}: the stream has exactly one token so far ({@code
   * variant} of the model generated it). The future completes once the message has left, or failed (the client is gone).
   */
  Future<Void> write(M message, boolean firstToken, String variant);

  /** Whether the transport's write queue is full (its drain handler then calls {@link GenerationStream#drained}). */
  boolean writeQueueFull();

  /** Writes the last step's message and ends the response; the future completes once it has left. */
  Future<Void> end(M last, Ending ending);

  /** Ends the response with {@code failure}, when the transport still can (never after {@link #end}). */
  void fail(StatusMapper.Failure failure);

  /** Drops the stream at once (a stalled reader: a clean end would wait behind data the reader does not take). */
  void abort();

  /** The client's address, for logs. */
  String remote();

  /**
   * How a generation ended, for its last message.
   *
   * @param variant the variant id that served it
   * @param usage prompt and generated tokens
   * @param timings the engine's timings, or null for a stream cancelled before its generation started
   * @param arrivalNanos when the call arrived (ticker nanoseconds), as {@code admittedNanos}, {@code firstTokenNanos}
   *     (negative when no token came) and {@code endNanos}
   */
  record Ending(String variant, FinishReason reason, Usage usage, Timings timings, long arrivalNanos, long admittedNanos,
      long firstTokenNanos, long endNanos) {}
}
