package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.engine.Ticker;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcService;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import java.time.Duration;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.logging.Logger;

/**
 * The {@code edgelm.v1.Generation} service: one {@link GenerateCall} per stream, with what the calls
 * share (registry, decode workers, telemetry, limits).
 *
 * <p>The request message is decoded by the daemon ({@link RequestDecoder}), not by vertx-grpc:
 * {@code GrpcServerRequest.handler} answers a message that does not parse (garbage bytes, invalid
 * UTF-8 in a string field) by resetting the stream (RST_STREAM CANCEL) without telling the service,
 * so the client saw CANCELLED, the metrics counted a cancel and nothing was logged.
 * {@link RequestIntake} ends such a call with INVALID_ARGUMENT.
 *
 * <p>A call is in {@link ActiveStreams} from the moment it arrives (before its message) until its
 * end, and every path — malformed message, cancel before or inside the message, half-close without
 * one — ends in {@code GenerateCall.finish}, which removes it.
 *
 * <p>Threading: {@link #handle} runs on the event loop of the call's connection; everything it
 * holds is thread-safe.
 */
final class GenerateService {
  private static final Logger LOG = Logger.getLogger(GenerateService.class.getName());
  /** One line per this interval for malformed requests, however many arrive. */
  static final Duration MALFORMED_LOG_INTERVAL = Duration.ofSeconds(10);

  final ModelRegistry registry;
  final ThreadPoolExecutor decodeWorkers;
  /** Observers of each stream: its metrics and its trace. */
  final StreamEvents.Factory events;
  final DaemonConfig.Limits limits;
  final Ticker ticker;
  final ActiveStreams streams;
  private final DrainState drain;
  final ThrottledLog malformedLog;
  /** {@code server.max_request_bytes}: also the most a gzip request message may inflate to. */
  final long maxRequestBytes;
  /** Times {@code generation.stall_timeout}. */
  final Scheduler scheduler;

  GenerateService(ModelRegistry registry, ThreadPoolExecutor decodeWorkers, Telemetry telemetry, DaemonConfig.Limits limits, Ticker ticker,
      Scheduler scheduler, ActiveStreams streams, DrainState drain, long maxRequestBytes) {
    this.registry = registry;
    this.decodeWorkers = decodeWorkers;
    this.events = () -> StreamEvents.all(telemetry, new StreamTrace(telemetry.tracer(), telemetry.propagator()));
    this.limits = limits;
    this.ticker = ticker;
    this.streams = streams;
    this.drain = drain;
    this.maxRequestBytes = maxRequestBytes;
    this.scheduler = scheduler;
    this.malformedLog = new ThrottledLog(ticker, MALFORMED_LOG_INTERVAL, LOG::info);
  }

  boolean draining() {
    return drain.draining();
  }

  Service service() {
    return Service.service(GenerationGrpcService.SERVICE_NAME, GenerationGrpcService.SERVICE_DESCRIPTOR)
        .bind(GenerationGrpcService.Generate, this::handle)
        .build();
  }

  void handle(GrpcServerRequest<GenerateRequest, GenerateResponse> request) {
    GenerateCall call = new GenerateCall(this, request, Vertx.currentContext());
    streams.add(call);
    call.arrived();
    request.errorHandler(error -> call.clientGone("the client cancelled the stream (" + error + ")"));
    request.exceptionHandler(e -> call.clientGone("the request failed: " + e.getMessage()));
    request.response().exceptionHandler(e -> call.clientGone("the response failed: " + e.getMessage()));
    request.response().drainHandler(v -> call.drained());
    RequestIntake intake = new RequestIntake(call, maxRequestBytes);
    request.invalidMessageHandler(intake::invalidMessage);
    request.messageHandler(intake::received);
    request.endHandler(v -> intake.requestEnded());
  }
}
