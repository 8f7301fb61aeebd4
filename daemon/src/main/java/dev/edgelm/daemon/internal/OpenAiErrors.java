package dev.edgelm.daemon.internal;

import io.vertx.core.http.HttpServerResponse;
import io.vertx.core.json.JsonObject;
import io.vertx.grpc.common.GrpcStatus;

/**
 * Failures in the OpenAI API's shape, {@code {"error": {"message", "type", "param", "code"}}}, with the HTTP status of
 * the gRPC code {@link StatusMapper} chose: the one taxonomy of failures, so both APIs answer the same failure the
 * same way. 429 and 503 carry {@code Retry-After} (the queue is full, the model is loading, the daemon is draining).
 * Stateless.
 */
final class OpenAiErrors {
  /** Seconds a client is told to wait before it retries a 429 or 503. */
  static final int RETRY_AFTER_SECONDS = 1;

  private OpenAiErrors() {}

  /** The HTTP status of a gRPC code. */
  static int httpStatus(GrpcStatus s) {
    return switch (s) {
      case INVALID_ARGUMENT, OUT_OF_RANGE -> 400;
      case UNAUTHENTICATED -> 401;
      case PERMISSION_DENIED -> 403;
      case NOT_FOUND -> 404;
      case ALREADY_EXISTS, ABORTED -> 409;
      case RESOURCE_EXHAUSTED -> 429;
      case CANCELLED -> 499;
      case UNAVAILABLE, FAILED_PRECONDITION -> 503;
      case DEADLINE_EXCEEDED -> 504;
      case UNIMPLEMENTED -> 501;
      default -> 500;
    };
  }

  /** The error object of {@code failure} (its {@code type} and {@code code} as OpenAI names them). */
  static JsonObject body(StatusMapper.Failure failure) {
    int http = httpStatus(failure.status());
    String type = switch (http) {
      case 400, 404, 409 -> "invalid_request_error";
      case 401 -> "authentication_error";
      case 403 -> "permission_error";
      case 429 -> "rate_limit_error";
      default -> "server_error";
    };
    String code = switch (failure.status()) {
      case NOT_FOUND -> "model_not_found";
      case INVALID_ARGUMENT -> "invalid_request";
      case UNAUTHENTICATED -> "invalid_api_key";
      case RESOURCE_EXHAUSTED -> "queue_full";
      case UNAVAILABLE -> "unavailable";
      case FAILED_PRECONDITION -> "model_unservable";
      default -> failure.status().name().toLowerCase(java.util.Locale.ROOT);
    };
    return new JsonObject().put("error", new JsonObject().put("message", failure.message()).put("type", type).putNull("param").put("code", code));
  }

  /** Ends {@code response} (nothing written yet) with {@code failure}'s status and body. */
  static void send(HttpServerResponse response, StatusMapper.Failure failure) {
    int http = httpStatus(failure.status());
    response.setStatusCode(http).putHeader("content-type", "application/json");
    if (http == 429 || http == 503 && failure.status() == GrpcStatus.UNAVAILABLE) {
      response.putHeader("retry-after", String.valueOf(RETRY_AFTER_SECONDS));
    }
    response.end(body(failure).encode());
  }
}
