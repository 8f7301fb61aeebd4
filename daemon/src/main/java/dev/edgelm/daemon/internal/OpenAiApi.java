package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.CapacityExceededException;
import dev.edgelm.daemon.UnauthenticatedException;
import dev.edgelm.daemon.UnknownModelException;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import io.vertx.core.json.DecodeException;
import io.vertx.core.json.JsonArray;
import io.vertx.core.json.JsonObject;
import io.vertx.ext.web.Router;
import io.vertx.ext.web.RoutingContext;
import io.vertx.ext.web.handler.BodyHandler;
import java.time.Clock;
import java.util.Locale;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The OpenAI-compatible HTTP API ({@code server.openai_port}), a vertx-web {@link Router} on the daemon's Vert.x
 * instance: {@code GET /v1/models}, {@code GET /v1/models/{id}}, {@code POST /v1/completions}, {@code POST
 * /v1/chat/completions} (JSON, or server-sent events with {@code stream: true}) and {@code GET /health}.
 *
 * <p>One generation path with gRPC: each completion is a {@link GenerationStream} of the shared {@link Generations}
 * (admission and its queue, backpressure, cancellation when the client disconnects, drain, metrics and traces labelled
 * {@code edgelm.api=openai}), with an {@link OpenAiStream} as its sink. Bodies are read by {@link OpenAiRequests};
 * failures are answered by {@link OpenAiErrors} with the status of the gRPC code {@link StatusMapper} chose. The API
 * keys are the gRPC port's ({@link ApiKeys}, {@code Authorization: Bearer KEY}); only {@code /health} is open.
 *
 * <p>Threading: handlers run on the event loop of each request's connection.
 */
final class OpenAiApi {
  private final Vertx vertx;
  private final Generations core;
  private final ApiKeys keys;
  private final Runnable onAuthRejected;
  private final long maxRequestBytes;
  private final Supplier<String> notReadyReason;
  private final Clock clock;
  private final long startedSeconds;

  /** @param notReadyReason why the daemon is not ready, or null when it is */
  OpenAiApi(Vertx vertx, Generations core, ApiKeys keys, Runnable onAuthRejected, long maxRequestBytes, Supplier<String> notReadyReason,
      Clock clock) {
    this.vertx = vertx;
    this.core = core;
    this.keys = keys;
    this.onAuthRejected = onAuthRejected;
    this.maxRequestBytes = maxRequestBytes;
    this.notReadyReason = notReadyReason;
    this.clock = clock;
    this.startedSeconds = clock.millis() / 1000;
  }

  Router router() {
    Router r = Router.router(vertx);
    r.get("/health").handler(this::health);
    r.route().handler(this::authenticate);
    r.get("/v1/models").handler(ctx -> json(ctx, 200, new JsonObject().put("object", "list").put("data", models())));
    r.get("/v1/models/:id").handler(this::model);
    BodyHandler body = BodyHandler.create(false).setBodyLimit(maxRequestBytes);
    r.post("/v1/completions").handler(body).handler(ctx -> generate(ctx, StreamApi.COMPLETIONS));
    r.post("/v1/chat/completions").handler(body).handler(ctx -> generate(ctx, StreamApi.CHAT));
    r.route().handler(ctx -> error(ctx, new BadRequestException("no route " + ctx.request().method() + " " + ctx.request().path()
        + "; this port serves GET /v1/models, POST /v1/completions, POST /v1/chat/completions and GET /health"), 404));
    r.route().failureHandler(this::failed);
    return r;
  }

  private void health(RoutingContext ctx) {
    String reason = notReadyReason.get();
    json(ctx, reason == null ? 200 : 503, reason == null ? new JsonObject().put("status", "ok")
        : new JsonObject().put("status", reason.equals("draining") ? "draining" : "loading").put("reason", reason));
  }

  private void authenticate(RoutingContext ctx) {
    String refusal = keys.refusal(ctx.request());
    if (refusal == null) {
      ctx.next();
      return;
    }
    onAuthRejected.run();
    error(ctx, new UnauthenticatedException(refusal), 0);
  }

  private void generate(RoutingContext ctx, StreamApi api) {
    HttpServerRequest request = ctx.request();
    OpenAiStream sink = new OpenAiStream(api, request, (api == StreamApi.CHAT ? "chatcmpl-" : "cmpl-") + UUID.randomUUID(),
        clock.millis() / 1000);
    GenerationStream<OpenAiStream.Piece> stream = core.open(sink, api, Vertx.currentContext(), 0, request.headers());
    request.response().closeHandler(v -> stream.clientGone("the client closed the connection"));
    request.response().exceptionHandler(e -> stream.clientGone("the response failed: " + e.getMessage()));
    request.response().drainHandler(v -> stream.drained());
    stream.start(() -> sink.call(parse(ctx, api)));
  }

  private OpenAiRequests.Call parse(RoutingContext ctx, StreamApi api) {
    JsonObject body;
    try {
      body = ctx.body().asJsonObject();
    } catch (DecodeException | ClassCastException e) {
      throw new BadRequestException("the body is not a JSON object: " + e.getMessage());
    }
    if (body == null) {
      throw new BadRequestException("the body must be a JSON object (content-type: application/json)");
    }
    int defaults = core.limits.defaultMaxTokens();
    return api == StreamApi.CHAT ? OpenAiRequests.chat(body, defaults) : OpenAiRequests.completion(body, defaults);
  }

  private JsonArray models() {
    JsonArray out = new JsonArray();
    for (ServedModel sm : core.registry.all()) {
      out.add(model(sm));
    }
    return out;
  }

  private void model(RoutingContext ctx) {
    try {
      json(ctx, 200, model(core.registry.served(ctx.pathParam("id"))));
    } catch (UnknownModelException e) {
      error(ctx, e, 0);
    }
  }

  /** OpenAI's model object, with what the daemon serves: its state, the chosen variant and the context it serves. */
  private JsonObject model(ServedModel sm) {
    ServedState s = sm.state();
    String variant = s.descriptor() != null ? s.descriptor().getId() : s.pulled() != null ? s.pulled().variantId() : null;
    return new JsonObject().put("id", sm.name).put("object", "model").put("created", startedSeconds).put("owned_by", "edgelm")
        .put("status", s.status().name().substring("MODEL_STATE_".length()).toLowerCase(Locale.ROOT))
        .put("variant", variant).put("context_length", s.contextLength() > 0 ? s.contextLength() : null);
  }

  private void failed(RoutingContext ctx) {
    if (ctx.response().headWritten()) {
      ctx.response().reset();
      return;
    }
    int status = ctx.statusCode();
    if (status == 413) {
      error(ctx, new CapacityExceededException("the body is larger than server.max_request_bytes (" + maxRequestBytes + " bytes)"), 413);
    } else if (status == 405 || ctx.request().method() != HttpMethod.GET && ctx.request().method() != HttpMethod.POST) {
      error(ctx, new BadRequestException(ctx.request().method() + " is not supported on " + ctx.request().path()), 405);
    } else {
      error(ctx, ctx.failure() != null ? ctx.failure() : new IllegalStateException("request failed with " + status), 0);
    }
  }

  /** Answers {@code e} in the OpenAI shape; {@code status} overrides the mapped HTTP status when not 0. */
  private static void error(RoutingContext ctx, Throwable e, int status) {
    StatusMapper.Failure f = StatusMapper.map(e);
    if (status == 0) {
      OpenAiErrors.send(ctx.response(), f);
    } else {
      ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(OpenAiErrors.body(f).encode());
    }
  }

  private static void json(RoutingContext ctx, int status, JsonObject body) {
    ctx.response().setStatusCode(status).putHeader("content-type", "application/json").end(body.encode());
  }
}
