package dev.edgelm.daemon.internal;

import dev.edgelm.engine.Timings;
import dev.edgelm.engine.Usage;
import io.vertx.core.MultiMap;
import io.vertx.grpc.common.GrpcStatus;
import java.time.Duration;
import java.util.List;

/**
 * What happens to one generation stream (any API), for whoever observes it (metrics, traces), in the shape of OkHttp's {@code
 * EventListener}: every method is a no-op by default, so an observer overrides what it needs and {@link GenerationStream}
 * imports no telemetry API. {@link Telemetry} implements the metrics, {@link StreamTrace} one stream's spans.
 *
 * <p>Order: {@link #started} (once the request message is read), {@link #admitted}, {@link #firstToken}, any number of
 * {@link #suspended}/{@link #resumed}, at most one {@link #stalled}, then {@link #finished} exactly once — also for a
 * call that never started (a malformed message).
 *
 * <p>Threading: {@link #token} runs on the decode worker running the stream; every other method on the stream's event
 * loop. Implementations must be quick, must not block and must not throw.
 */
interface StreamEvents {
  /** Makes one stream's listener, at its arrival. Thread-safe. */
  @FunctionalInterface
  interface Factory {
    StreamEvents create();
  }

  /** Observes nothing. */
  StreamEvents NONE = new StreamEvents() {};

  /** The request was read: what it asks for, the API it came through, and the caller's metadata (a W3C {@code traceparent}). */
  default void started(StreamRequest request, StreamApi api, MultiMap headers) {}

  /** The stream took a slot; prefill begins. */
  default void admitted(String model) {}

  /** Its first token reached the event loop. */
  default void firstToken(String model) {}

  /** A decode step produced a token. On the decode worker. */
  default void token(String model) {}

  /** Paused for its reader, it lent its slot to a waiting call and freed its KV cache. */
  default void suspended(String model) {}

  /** A suspended stream has a slot again (its next step rebuilds the KV cache). */
  default void resumed(String model) {}

  /** Its reader took nothing for {@code generation.stall_timeout}: the stream is reset. */
  default void stalled(String model) {}

  /** The call ended. */
  default void finished(Outcome outcome) {}

  /**
   * How a call ended.
   *
   * @param model the model asked for, or {@code (unknown)} when the call never got that far
   * @param api the API it came through
   * @param status the status the call ended with (CANCELLED when the client went away), as a gRPC code whatever the
   *     API: {@link StatusMapper}'s one taxonomy of failures
   * @param duration from arrival to the end
   * @param usage prompt and generated tokens, or null when the generation did not end normally
   * @param timings the engine's timings of a generation that ended normally, or null
   * @param timeToFirstToken from arrival to the first token, or null when none came
   * @param stepsAfterCancel model steps started after the cancel was issued, or -1 when it was not cancelled
   * @param servedVariant {@code model/variant} that served it, or empty when none was leased
   */
  record Outcome(String model, StreamApi api, GrpcStatus status, Duration duration, Usage usage, Timings timings, Duration timeToFirstToken,
      long stepsAfterCancel, String servedVariant) {}

  /** Tells every one of {@code listeners}, in order. */
  static StreamEvents all(StreamEvents... listeners) {
    List<StreamEvents> each = List.of(listeners);
    return new StreamEvents() {
      @Override
      public void started(StreamRequest request, StreamApi api, MultiMap headers) {
        each.forEach(l -> l.started(request, api, headers));
      }

      @Override
      public void admitted(String model) {
        each.forEach(l -> l.admitted(model));
      }

      @Override
      public void firstToken(String model) {
        each.forEach(l -> l.firstToken(model));
      }

      @Override
      public void token(String model) {
        each.forEach(l -> l.token(model));
      }

      @Override
      public void suspended(String model) {
        each.forEach(l -> l.suspended(model));
      }

      @Override
      public void resumed(String model) {
        each.forEach(l -> l.resumed(model));
      }

      @Override
      public void stalled(String model) {
        each.forEach(l -> l.stalled(model));
      }

      @Override
      public void finished(Outcome outcome) {
        each.forEach(l -> l.finished(outcome));
      }
    };
  }
}
