package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.engine.Ticker;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcService;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import java.util.concurrent.ThreadPoolExecutor;

/**
 * The {@code edgelm.v1.Generation} service: one {@link GenerateCall} per stream, with what the calls
 * share (registry, decode workers, telemetry, limits).
 *
 * <p>Threading: {@link #handle} runs on the event loop of the call's connection; everything it
 * holds is thread-safe.
 */
final class GenerateService {
  final ModelRegistry registry;
  final ThreadPoolExecutor decodeWorkers;
  final Telemetry telemetry;
  final DaemonConfig.Limits limits;
  final Ticker ticker;
  final ActiveStreams streams;
  private final DrainState drain;

  GenerateService(ModelRegistry registry, ThreadPoolExecutor decodeWorkers, Telemetry telemetry, DaemonConfig.Limits limits, Ticker ticker,
      ActiveStreams streams, DrainState drain) {
    this.registry = registry;
    this.decodeWorkers = decodeWorkers;
    this.telemetry = telemetry;
    this.limits = limits;
    this.ticker = ticker;
    this.streams = streams;
    this.drain = drain;
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
    request.errorHandler(error -> call.clientGone("the client cancelled the stream (" + error + ")"));
    request.exceptionHandler(e -> call.clientGone("the request failed: " + e.getMessage()));
    request.response().exceptionHandler(e -> call.clientGone("the response failed: " + e.getMessage()));
    request.response().drainHandler(v -> call.drained());
    request.invalidMessageHandler(call::invalidMessage);
    request.handler(call::start);
    request.endHandler(v -> call.requestEnded());
  }
}
