package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.UnauthenticatedException;
import io.vertx.core.Handler;
import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * API-key authentication in front of the gRPC server, for every service at once (reflection
 * included). Deny by default once any key is configured: a call needs
 * {@code authorization: Bearer KEY} or {@code x-api-key: KEY}; only {@code grpc.health.v1.Health}
 * is open, so that load balancers and probes work without a key. A refused call gets a
 * trailers-only UNAUTHENTICATED response (the status comes from {@link StatusMapper}).
 *
 * <p>Keys are compared as SHA-256 digests with {@link MessageDigest#isEqual}, against every
 * configured key, so timing reveals neither a key's prefix nor which key matched.
 *
 * <p>Threading: stateless after construction; runs on event loops.
 */
final class ApiKeyGate implements Handler<HttpServerRequest> {
  static final String HEALTH_PREFIX = "/grpc.health.v1.Health/";

  private final List<byte[]> keyDigests = new ArrayList<>();
  private final Handler<HttpServerRequest> next;
  private final Runnable onReject;

  ApiKeyGate(List<String> apiKeys, Handler<HttpServerRequest> next, Runnable onReject) {
    for (String k : apiKeys) {
      keyDigests.add(sha256(k));
    }
    this.next = next;
    this.onReject = onReject;
  }

  @Override
  public void handle(HttpServerRequest request) {
    if (keyDigests.isEmpty() || request.path().startsWith(HEALTH_PREFIX)) {
      next.handle(request);
      return;
    }
    String presented = presentedKey(request);
    if (presented != null && known(presented)) {
      next.handle(request);
      return;
    }
    onReject.run();
    StatusMapper.Failure f = StatusMapper.map(new UnauthenticatedException(presented == null
        ? "this daemon requires an API key: send metadata 'authorization: Bearer KEY' or 'x-api-key: KEY'"
        : "the API key is not valid for this daemon"));
    request.response()
        .setStatusCode(200)
        .putHeader("content-type", "application/grpc")
        .putHeader("grpc-status", String.valueOf(f.status().code))
        .putHeader("grpc-message", percentEncode(f.message()))
        .end();
  }

  private static String presentedKey(HttpServerRequest request) {
    String auth = request.getHeader("authorization");
    if (auth != null && auth.regionMatches(true, 0, "Bearer ", 0, 7)) {
      return auth.substring(7).strip();
    }
    String key = request.getHeader("x-api-key");
    return key == null ? null : key.strip();
  }

  private boolean known(String presented) {
    byte[] d = sha256(presented);
    boolean match = false;
    for (byte[] k : keyDigests) {
      match |= MessageDigest.isEqual(d, k);
    }
    return match;
  }

  private static byte[] sha256(String s) {
    try {
      return MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
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
