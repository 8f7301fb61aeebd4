package dev.edgelm.hub.testing;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.edgelm.hub.Digest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;

/**
 * An in-memory OCI distribution registry on 127.0.0.1 for unit tests (like OkHttp's
 * MockWebServer): manifests by tag and digest, blobs with Range, monolithic uploads; optional basic
 * or Bearer-token auth (token service at {@code /token}); scripted failures ({@link #failNext}).
 * Enough of the spec for the hub client, not a general registry.
 */
public final class FakeRegistry implements AutoCloseable {
  /** How clients must authenticate. */
  public enum Auth { NONE, BASIC, BEARER }

  private final HttpServer server;
  private final Auth auth;
  private final String user;
  private final String password;
  private final Map<String, byte[]> blobs = new ConcurrentHashMap<>();
  private final Map<String, byte[]> manifests = new ConcurrentHashMap<>();
  private final Map<String, String> manifestTypes = new ConcurrentHashMap<>();
  private final Map<String, String> uploads = new ConcurrentHashMap<>();
  private final Deque<int[]> failures = new ArrayDeque<>();
  private final List<String> requests = new CopyOnWriteArrayList<>();
  private volatile String failRetryAfter;
  private volatile boolean ignoreRange;
  private final String token = UUID.randomUUID().toString();

  private FakeRegistry(HttpServer server, Auth auth, String user, String password) {
    this.server = server;
    this.auth = auth;
    this.user = user;
    this.password = password;
  }

  public static FakeRegistry start() throws IOException {
    return start(Auth.NONE, null, null);
  }

  public static FakeRegistry start(Auth auth, String user, String password) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    FakeRegistry r = new FakeRegistry(s, auth, user, password);
    s.createContext("/", r::handle);
    s.setExecutor(Executors.newCachedThreadPool(t -> {
      Thread th = new Thread(t, "fake-registry");
      th.setDaemon(true);
      return th;
    }));
    s.start();
    return r;
  }

  public String authority() {
    return "127.0.0.1:" + server.getAddress().getPort();
  }

  public int port() {
    return server.getAddress().getPort();
  }

  /** The next {@code times} requests get {@code status} (with {@code retryAfter} when not null). */
  public synchronized void failNext(int status, int times, String retryAfter) {
    for (int i = 0; i < times; i++) {
      failures.add(new int[] {status});
    }
    failRetryAfter = retryAfter;
  }

  /** Serve whole blobs even when asked for a range (a server without Range support). */
  public void ignoreRange(boolean v) {
    ignoreRange = v;
  }

  /** "METHOD path" of every request, in order. */
  public List<String> requests() {
    return List.copyOf(requests);
  }

  public boolean hasBlob(Digest d) {
    return blobs.containsKey(d.toString());
  }

  /** Replaces a stored blob's bytes (to simulate corruption at rest). */
  public void corruptBlob(Digest d, byte[] bytes) {
    blobs.put(d.toString(), bytes);
  }

  private synchronized int[] nextFailure() {
    return failures.poll();
  }

  private void handle(HttpExchange ex) throws IOException {
    try (ex) {
      String method = ex.getRequestMethod();
      String path = ex.getRequestURI().getPath();
      requests.add(method + " " + ex.getRequestURI());
      byte[] body = ex.getRequestBody().readAllBytes();
      int[] fail = nextFailure();
      if (fail != null) {
        if (failRetryAfter != null) {
          ex.getResponseHeaders().add("Retry-After", failRetryAfter);
        }
        send(ex, fail[0], new byte[0], null);
        return;
      }
      if (path.equals("/token")) {
        token(ex);
        return;
      }
      if (!authorized(ex)) {
        return;
      }
      if (path.equals("/v2/")) {
        send(ex, 200, "{}".getBytes(StandardCharsets.UTF_8), "application/json");
        return;
      }
      String rest = path.substring("/v2/".length());
      int m = rest.lastIndexOf("/manifests/");
      int b = rest.lastIndexOf("/blobs/");
      if (m > 0) {
        manifest(ex, method, rest.substring(0, m), rest.substring(m + "/manifests/".length()), body);
      } else if (b > 0) {
        blob(ex, method, rest.substring(0, b), rest.substring(b + "/blobs/".length()), body);
      } else {
        send(ex, 404, error("NAME_UNKNOWN", "unknown path"), "application/json");
      }
    }
  }

  private boolean authorized(HttpExchange ex) throws IOException {
    String h = ex.getRequestHeaders().getFirst("Authorization");
    switch (auth) {
      case NONE:
        return true;
      case BASIC:
        if (h != null && h.equals("Basic " + basic(user, password))) {
          return true;
        }
        ex.getResponseHeaders().add("WWW-Authenticate", "Basic realm=\"fake\"");
        send(ex, 401, error("UNAUTHORIZED", "authentication required"), "application/json");
        return false;
      default:
        if (h != null && h.equals("Bearer " + token)) {
          return true;
        }
        ex.getResponseHeaders().add("WWW-Authenticate", "Bearer realm=\"http://" + authority()
            + "/token\",service=\"fake-registry\",scope=\"repository:any:pull\"");
        send(ex, 401, error("UNAUTHORIZED", "authentication required"), "application/json");
        return false;
    }
  }

  private void token(HttpExchange ex) throws IOException {
    String h = ex.getRequestHeaders().getFirst("Authorization");
    if (user != null && (h == null || !h.equals("Basic " + basic(user, password)))) {
      send(ex, 401, error("UNAUTHORIZED", "bad credentials"), "application/json");
      return;
    }
    send(ex, 200, ("{\"token\":\"" + token + "\"}").getBytes(StandardCharsets.UTF_8), "application/json");
  }

  private void manifest(HttpExchange ex, String method, String repo, String ref, byte[] body) throws IOException {
    String key = repo + "@" + ref;
    if (method.equals("PUT")) {
      Digest d = Digest.of(body);
      manifests.put(repo + "@" + d, body);
      manifests.put(key, body);
      manifestTypes.put(repo + "@" + d, ex.getRequestHeaders().getFirst("Content-Type"));
      ex.getResponseHeaders().add("Docker-Content-Digest", d.toString());
      send(ex, 201, new byte[0], null);
      return;
    }
    byte[] m = manifests.get(key);
    if (m == null) {
      send(ex, 404, error("MANIFEST_UNKNOWN", "manifest unknown"), "application/json");
      return;
    }
    Digest d = Digest.of(m);
    ex.getResponseHeaders().add("Docker-Content-Digest", d.toString());
    send(ex, 200, method.equals("HEAD") ? null : m, manifestTypes.get(repo + "@" + d));
  }

  private void blob(HttpExchange ex, String method, String repo, String ref, byte[] body) throws IOException {
    if (method.equals("POST") && ref.equals("uploads/")) {
      String id = UUID.randomUUID().toString();
      uploads.put(id, repo);
      ex.getResponseHeaders().add("Location", "/v2/" + repo + "/blobs/uploads/" + id);
      send(ex, 202, new byte[0], null);
      return;
    }
    if (method.equals("PUT") && ref.startsWith("uploads/")) {
      String query = ex.getRequestURI().getRawQuery();
      String digest = URLDecoder.decode(query.substring(query.indexOf("digest=") + 7), StandardCharsets.UTF_8);
      if (!Digest.of(body).toString().equals(digest)) {
        send(ex, 400, error("DIGEST_INVALID", "digest mismatch"), "application/json");
        return;
      }
      blobs.put(digest, body);
      send(ex, 201, new byte[0], null);
      return;
    }
    byte[] b = blobs.get(ref);
    if (b == null) {
      send(ex, 404, error("BLOB_UNKNOWN", "blob unknown"), "application/json");
      return;
    }
    if (method.equals("HEAD")) {
      ex.getResponseHeaders().add("Content-Length", Integer.toString(b.length));
      ex.sendResponseHeaders(200, -1);
      return;
    }
    String range = ex.getRequestHeaders().getFirst("Range");
    if (range != null && !ignoreRange && range.startsWith("bytes=")) {
      int start = Integer.parseInt(range.substring(6, range.indexOf('-')));
      if (start >= b.length) {
        send(ex, 416, new byte[0], null);
        return;
      }
      ex.getResponseHeaders().add("Content-Range", "bytes " + start + "-" + (b.length - 1) + "/" + b.length);
      byte[] part = java.util.Arrays.copyOfRange(b, start, b.length);
      send(ex, 206, part, "application/octet-stream");
      return;
    }
    send(ex, 200, b, "application/octet-stream");
  }

  private static void send(HttpExchange ex, int status, byte[] body, String type) throws IOException {
    if (type != null) {
      ex.getResponseHeaders().add("Content-Type", type);
    }
    if (body == null || body.length == 0 || ex.getRequestMethod().equals("HEAD")) {
      ex.sendResponseHeaders(status, -1);
      return;
    }
    ex.sendResponseHeaders(status, body.length);
    try (OutputStream out = ex.getResponseBody()) {
      out.write(body);
    }
  }

  private static byte[] error(String code, String message) {
    return ("{\"errors\":[{\"code\":\"" + code + "\",\"message\":\"" + message + "\"}]}").getBytes(StandardCharsets.UTF_8);
  }

  private static String basic(String u, String p) {
    return Base64.getEncoder().encodeToString((u + ":" + p).getBytes(StandardCharsets.UTF_8));
  }

  /** All manifests' keys ("repo@tag" / "repo@digest"). */
  public List<String> manifestKeys() {
    return new ArrayList<>(manifests.keySet());
  }

  @Override
  public void close() {
    server.stop(0);
  }
}
