package dev.edgelm.daemon.internal;

import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import io.vertx.core.Future;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;

/**
 * One {@code Generate} call's gRPC side: its request message in ({@link RequestIntake}, {@link GrpcMapping}), its
 * {@code GenerateResponse} messages and status out, as the {@link StreamSink} of its {@link GenerationStream}, which
 * does all the flow control.
 *
 * <p>Threading: confined to the call's context, except {@link #encode} (on a decode worker; stateless).
 */
final class GrpcStream implements StreamSink<GenerateResponse> {
  private final GenerateService svc;
  private final GrpcServerRequest<GenerateRequest, GenerateResponse> request;
  private final GrpcServerResponse<GenerateRequest, GenerateResponse> response;
  private GenerationStream<GenerateResponse> stream;

  GrpcStream(GenerateService svc, GrpcServerRequest<GenerateRequest, GenerateResponse> request) {
    this.svc = svc;
    this.request = request;
    this.response = request.response();
  }

  /** Opens the call's stream at its arrival (its deadline, {@code grpc-timeout}, runs from now) and wires the handlers. */
  void arrived(Generations core, io.vertx.core.Context context) {
    stream = core.open(this, StreamApi.GRPC, context, request.timeout(), request.headers());
    request.errorHandler(error -> stream.clientGone("the client cancelled the stream (" + error + ")"));
    request.exceptionHandler(e -> stream.clientGone("the request failed: " + e.getMessage()));
    response.exceptionHandler(e -> stream.clientGone("the response failed: " + e.getMessage()));
    response.drainHandler(v -> stream.drained());
    RequestIntake intake = new RequestIntake(this, svc.maxRequestBytes);
    request.invalidMessageHandler(intake::invalidMessage);
    request.messageHandler(intake::received);
    request.endHandler(v -> intake.requestEnded());
  }

  // ---- the request, from RequestIntake ------------------------------------------------------------------

  void start(GenerateRequest message) {
    stream.start(() -> GrpcMapping.request(message, svc.core.limits.defaultMaxTokens()));
  }

  /** The request message could not be used (see {@link RequestIntake}): logs it (throttled) and refuses the call. */
  void malformed(String why, Throwable e) {
    svc.malformedLog.log("Generate from " + remote() + ": " + why);
    stream.fail(e);
  }

  boolean finished() {
    return stream.ended();
  }

  // ---- the response, from the stream --------------------------------------------------------------------

  @Override
  public GenerateResponse encode(GenerationChunk chunk, StreamRequest req, Tokenizer tokenizer) {
    return GrpcMapping.step(chunk, req.logprobs(), req.requestId());
  }

  /** The messages written while the stream has its first token name the variant. */
  @Override
  public Future<Void> write(GenerateResponse message, boolean firstToken, String variant) {
    return response.write(firstToken ? message.toBuilder().setVariant(variant).build() : message);
  }

  @Override
  public boolean writeQueueFull() {
    return response.writeQueueFull();
  }

  @Override
  public Future<Void> end(GenerateResponse last, Ending e) {
    return response.end(GrpcMapping.last(last, e.variant(), e.reason(), e.usage(), GrpcMapping.timings(e.arrivalNanos(), e.admittedNanos(),
        e.firstTokenNanos(), e.endNanos(), e.timings() == null ? 0 : e.timings().decodeTokensPerSecond())));
  }

  @Override
  public void fail(StatusMapper.Failure f) {
    try {
      response.status(f.status()).statusMessage(f.message()).end();
    } catch (IllegalStateException closed) {
      // the stream was already reset or ended underneath: nothing left to tell the client
    }
  }

  /** RST_STREAM: trailers would wait behind the data the reader does not take. */
  @Override
  public void abort() {
    try {
      response.cancel();
    } catch (IllegalStateException closed) {
      // already reset underneath
    }
  }

  @Override
  public String remote() {
    try {
      return String.valueOf(request.connection().remoteAddress());
    } catch (RuntimeException e) {
      return "?";
    }
  }
}
