package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.UnauthenticatedException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;

/**
 * API-key authentication in front of the gRPC server, for every service at once (reflection
 * included). Deny by default once any key is configured: a call needs
 * {@code authorization: Bearer KEY} or {@code x-api-key: KEY} ({@link ApiKeys}); only {@code grpc.health.v1.Health}
 * is open, so that load balancers and probes work without a key. A refused call gets a
 * trailers-only UNAUTHENTICATED response (the status comes from {@link StatusMapper}).
 *
 * <p>Threading: stateless after construction; runs on event loops.
 */
final class ApiKeyGate implements Handler<HttpServerRequest> {
  static final String HEALTH_PREFIX = "/grpc.health.v1.Health/";

  private final ApiKeys keys;
  private final Handler<HttpServerRequest> next;
  private final Runnable onReject;

  ApiKeyGate(ApiKeys keys, Handler<HttpServerRequest> next, Runnable onReject) {
    this.keys = keys;
    this.next = next;
    this.onReject = onReject;
  }

  @Override
  public void handle(HttpServerRequest request) {
    String refusal = request.path().startsWith(HEALTH_PREFIX) ? null : keys.refusal(request);
    if (refusal == null) {
      next.handle(request);
      return;
    }
    onReject.run();
    StatusMapper.Failure f = StatusMapper.map(new UnauthenticatedException(refusal.replace("send '", "send metadata '")));
    request.response()
        .setStatusCode(200)
        .putHeader("content-type", "application/grpc")
        .putHeader("grpc-status", String.valueOf(f.status().code))
        .putHeader("grpc-message", percentEncode(f.message()))
        .end();
  }

  /** grpc-message encoding: percent-encode everything outside printable ASCII, and '%'. */
  static String percentEncode(String s) {
    StringBuilder out = new StringBuilder();
    for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
      int c = b & 0xff;
      if (c >= 0x20 && c <= 0x7e && c != '%') {
        out.append((char) c);
      } else {
        out.append('%').append(String.format("%02X", c));
      }
    }
    return out.toString();
  }
}
