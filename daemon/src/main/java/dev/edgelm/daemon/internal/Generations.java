package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.engine.Ticker;
import io.vertx.core.Context;
import io.vertx.core.MultiMap;
import java.util.concurrent.ThreadPoolExecutor;

/**
 * What every {@link GenerationStream} shares, whichever API opened it: the registry, the decode workers, the stream
 * listeners (metrics, traces), the limits, the injected ticker and scheduler, the streams in progress and the drain.
 * The one generation path: gRPC ({@link GenerateService}) and the OpenAI HTTP API open their streams here.
 *
 * <p>Threading: thread-safe (everything it holds is).
 */
final class Generations {
  final ModelRegistry registry;
  final ThreadPoolExecutor decodeWorkers;
  /** Observers of each stream: its metrics and its trace. */
  final StreamEvents.Factory events;
  final DaemonConfig.Limits limits;
  final Ticker ticker;
  /** Times deadlines and {@code generation.stall_timeout}. */
  final Scheduler scheduler;
  final ActiveStreams streams;
  private final DrainState drain;

  Generations(ModelRegistry registry, ThreadPoolExecutor decodeWorkers, Telemetry telemetry, DaemonConfig.Limits limits, Ticker ticker,
      Scheduler scheduler, ActiveStreams streams, DrainState drain) {
    this.registry = registry;
    this.decodeWorkers = decodeWorkers;
    this.events = () -> StreamEvents.all(telemetry, new StreamTrace(telemetry.tracer(), telemetry.propagator()));
    this.limits = limits;
    this.ticker = ticker;
    this.scheduler = scheduler;
    this.streams = streams;
    this.drain = drain;
  }

  boolean draining() {
    return drain.draining();
  }

  /**
   * A stream that has arrived on {@code context} (before its request is read): in progress from now, its deadline
   * running. It ends in {@link GenerationStream#finish}, whatever happens.
   *
   * @param timeoutMillis the client's deadline from now, 0 for none
   * @param headers the caller's metadata (a W3C {@code traceparent})
   */
  <M> GenerationStream<M> open(StreamSink<M> sink, StreamApi api, Context context, long timeoutMillis, MultiMap headers) {
    GenerationStream<M> stream = new GenerationStream<>(this, sink, api, context, timeoutMillis, headers);
    streams.add(stream);
    stream.arrived();
    return stream;
  }
}
