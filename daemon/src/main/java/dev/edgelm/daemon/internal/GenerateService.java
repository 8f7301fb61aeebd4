package dev.edgelm.daemon.internal;

import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcService;
import io.vertx.core.Vertx;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.Service;
import java.time.Duration;
import java.util.logging.Logger;

/**
 * The {@code edgelm.v1.Generation} service: one {@link GrpcStream} per call, over one {@link GenerationStream} of the
 * shared {@link Generations}.
 *
 * <p>The request message is decoded by the daemon ({@link RequestDecoder}), not by vertx-grpc:
 * {@code GrpcServerRequest.handler} answers a message that does not parse (garbage bytes, invalid
 * UTF-8 in a string field) by resetting the stream (RST_STREAM CANCEL) without telling the service,
 * so the client saw CANCELLED, the metrics counted a cancel and nothing was logged.
 * {@link RequestIntake} ends such a call with INVALID_ARGUMENT.
 *
 * <p>A call is in {@link ActiveStreams} from the moment it arrives (before its message) until its
 * end, and every path — malformed message, cancel before or inside the message, half-close without
 * one — ends in {@code GenerationStream.finish}, which removes it.
 *
 * <p>Threading: {@link #handle} runs on the event loop of the call's connection; everything it
 * holds is thread-safe.
 */
final class GenerateService {
  private static final Logger LOG = Logger.getLogger(GenerateService.class.getName());
  /** One line per this interval for malformed requests, however many arrive. */
  static final Duration MALFORMED_LOG_INTERVAL = Duration.ofSeconds(10);

  final Generations core;
  final ThrottledLog malformedLog;
  /** {@code server.max_request_bytes}: also the most a gzip request message may inflate to. */
  final long maxRequestBytes;

  GenerateService(Generations core, long maxRequestBytes) {
    this.core = core;
    this.maxRequestBytes = maxRequestBytes;
    this.malformedLog = new ThrottledLog(core.ticker, MALFORMED_LOG_INTERVAL, LOG::info);
  }

  Service service() {
    return Service.service(GenerationGrpcService.SERVICE_NAME, GenerationGrpcService.SERVICE_DESCRIPTOR)
        .bind(GenerationGrpcService.Generate, this::handle)
        .build();
  }

  void handle(GrpcServerRequest<GenerateRequest, GenerateResponse> request) {
    new GrpcStream(this, request).arrived(core, Vertx.currentContext());
  }
}
