package dev.edgelm.daemon.internal;

import io.vertx.core.http.HttpServerRequest;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * The configured API keys ({@code auth.api_keys}) and the one check of a request's key, for the gRPC port ({@link
 * ApiKeyGate}) and the OpenAI HTTP API alike: {@code authorization: Bearer KEY} or {@code x-api-key: KEY}.
 *
 * <p>Keys are compared as SHA-256 digests with {@link MessageDigest#isEqual}, against every configured key, so timing
 * reveals neither a key's prefix nor which key matched.
 *
 * <p>Threading: immutable after construction.
 */
final class ApiKeys {
  private final List<byte[]> keyDigests = new ArrayList<>();

  ApiKeys(List<String> apiKeys) {
    for (String k : apiKeys) {
      keyDigests.add(sha256(k));
    }
  }

  boolean enabled() {
    return !keyDigests.isEmpty();
  }

  /** Why {@code request} is refused, or null when it may pass (no keys configured, or it presents one). */
  String refusal(HttpServerRequest request) {
    if (keyDigests.isEmpty()) {
      return null;
    }
    String presented = presentedKey(request);
    if (presented != null && known(presented)) {
      return null;
    }
    return presented == null ? "this daemon requires an API key: send 'authorization: Bearer KEY' or 'x-api-key: KEY'"
        : "the API key is not valid for this daemon";
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
}
