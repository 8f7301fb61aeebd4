package dev.edgelm.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.RequestRejectedException;
import dev.edgelm.hub.StoreException;
import dev.edgelm.hub.UnavailableException;
import java.io.FileNotFoundException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A repository of an OCI distribution-spec registry over HTTP(S). Every request goes through
 * {@link #exchange}: authentication challenges (once per request), redirects (followed by hand so
 * credentials never leak to another host), and retries with backoff on connection errors, 5xx and
 * 429 (honouring {@code Retry-After}). Other 4xx are never retried: 401/403 become
 * {@link AuthException}, 404 {@link NotFoundException}, the rest {@link RequestRejectedException}.
 */
final class RegistryTarget implements OciTarget {
  private static final int MAX_MANIFEST_BYTES = 4 << 20;
  private static final int MAX_REDIRECTS = 5;
  private static final Pattern CONTENT_RANGE = Pattern.compile("bytes (\\d+)-(\\d+)/(\\d+|\\*)");
  private static final String ACCEPT = String.join(", ", HubFormat.OCI_INDEX, HubFormat.OCI_MANIFEST,
      "application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json");

  private final Reference.Registry ref;
  private final HttpClient http;
  private final RegistryAuth auth;
  private final Retrier retrier;
  private final String scheme;
  private final Duration timeout;
  private final String pullScope;
  private final String pushScope;

  RegistryTarget(Reference.Registry ref, HttpClient http, RegistryAuth auth, Retrier retrier, boolean plainHttp, Duration timeout) {
    this.ref = ref;
    this.http = http;
    this.auth = auth;
    this.retrier = retrier;
    this.scheme = plainHttp ? "http" : "https";
    this.timeout = timeout;
    this.pullScope = "repository:" + ref.repository() + ":pull";
    this.pushScope = "repository:" + ref.repository() + ":pull,push";
  }

  @Override
  public String describe() {
    return ref.authority() + "/" + ref.repository();
  }

  @Override
  public Fetched fetchManifest(String tagOrDigest) {
    return fetch(tagOrDigest).orElseThrow(() -> new NotFoundException(
        (tagOrDigest.startsWith("sha256:") ? "manifest " + tagOrDigest : "tag '" + tagOrDigest + "'") + " not found in " + describe()));
  }

  @Override
  public Optional<Fetched> fetchManifestIfExists(String tagOrDigest) {
    return fetch(tagOrDigest);
  }

  private Optional<Fetched> fetch(String tagOrDigest) {
    String what = "GET manifest " + tagOrDigest;
    HttpResponse<InputStream> resp = exchange("GET", uri("/manifests/" + tagOrDigest), Map.of("Accept", ACCEPT), null, false, what);
    try (InputStream in = resp.body()) {
      if (resp.statusCode() == 404) {
        return Optional.empty();
      }
      byte[] body = in.readNBytes(MAX_MANIFEST_BYTES + 1);
      failUnlessSuccess(resp, body, what);
      if (body.length > MAX_MANIFEST_BYTES) {
        throw new InvalidReleaseException(describe() + ":" + tagOrDigest + " is larger than " + MAX_MANIFEST_BYTES + " bytes: not a manifest");
      }
      Digest digest = Digest.of(body);
      if (tagOrDigest.startsWith("sha256:") && !digest.toString().equals(tagOrDigest)) {
        throw new IntegrityException("registry " + ref.authority() + " served manifest " + tagOrDigest + " with content of digest " + digest);
      }
      Optional<String> advertised = resp.headers().firstValue("Docker-Content-Digest");
      if (advertised.isPresent() && advertised.get().startsWith("sha256:") && !advertised.get().equals(digest.toString())) {
        throw new IntegrityException("registry " + ref.authority() + " says " + tagOrDigest + " is " + advertised.get()
            + " but the content received has digest " + digest);
      }
      String mediaType = resp.headers().firstValue("Content-Type").map(t -> t.split(";")[0].strip()).orElse(null);
      if (mediaType == null || mediaType.isEmpty() || mediaType.equals("application/json")) {
        mediaType = Oci.mediaTypeOf(body);
      }
      return Optional.of(new Fetched(body, mediaType, digest));
    } catch (IOException e) {
      throw new UnavailableException("reading " + describe() + ":" + tagOrDigest + " failed: " + e, e);
    }
  }

  @Override
  public BlobStream openBlob(Digest digest, long size, long offset) {
    String what = "GET blob " + digest.shortHex();
    Map<String, String> headers = offset > 0 ? Map.of("Range", "bytes=" + offset + "-") : Map.of();
    HttpResponse<InputStream> resp = exchange("GET", uri("/blobs/" + digest), headers, null, false, what);
    int s = resp.statusCode();
    if (s == 200) {
      return new BlobStream(resp.body(), 0);
    }
    if (s == 206) {
      Matcher m = CONTENT_RANGE.matcher(resp.headers().firstValue("Content-Range").orElse(""));
      if (!m.matches()) {
        close(resp);
        throw new InvalidReleaseException("registry " + ref.authority() + " answered a Range request without a usable Content-Range");
      }
      return new BlobStream(resp.body(), Long.parseLong(m.group(1)));
    }
    if (s == 416 && offset > 0) {
      // The partial is no prefix the server recognises (longer than the blob?): start over.
      close(resp);
      return openBlob(digest, size, 0);
    }
    byte[] body = readError(resp);
    if (s == 404) {
      throw new NotFoundException("blob " + digest + " not found in " + describe() + errorSuffix(body));
    }
    failUnlessSuccess(resp, body, what);
    throw new RequestRejectedException("registry " + ref.authority() + " answered HTTP " + s + " to " + what);
  }

  @Override
  public boolean hasBlob(Digest digest, long size) {
    String what = "HEAD blob " + digest.shortHex();
    HttpResponse<InputStream> resp = exchange("HEAD", uri("/blobs/" + digest), Map.of(), null, false, what);
    byte[] body = readError(resp);
    if (resp.statusCode() == 404) {
      return false;
    }
    failUnlessSuccess(resp, body, what);
    return true;
  }

  @Override
  public void pushBlob(Digest digest, long size, Path file, byte[] bytes) {
    String what = "upload of blob " + digest.shortHex();
    HttpResponse<InputStream> started = exchange("POST", uri("/blobs/uploads/"), Map.of(), HttpRequest.BodyPublishers::noBody, true, what);
    byte[] body = readError(started);
    failUnlessSuccess(started, body, what);
    String location = started.headers().firstValue("Location")
        .orElseThrow(() -> new RequestRejectedException("registry " + ref.authority() + " started an upload without a Location"));
    URI put = started.uri().resolve(location);
    String sep = put.getRawQuery() == null ? "?" : "&";
    URI target = URI.create(put + sep + "digest=" + digest);
    Supplier<HttpRequest.BodyPublisher> publisher = () -> {
      if (file == null) {
        return HttpRequest.BodyPublishers.ofByteArray(bytes);
      }
      try {
        return HttpRequest.BodyPublishers.ofFile(file);
      } catch (FileNotFoundException e) {
        throw new StoreException("cannot read " + file + " for upload: " + e.getMessage(), e);
      }
    };
    HttpResponse<InputStream> done = exchange("PUT", target, Map.of("Content-Type", "application/octet-stream"), publisher, true, what);
    byte[] doneBody = readError(done);
    failUnlessSuccess(done, doneBody, what);
  }

  @Override
  public void pushManifest(String tagOrDigest, byte[] bytes, String mediaType) {
    String what = "PUT manifest " + tagOrDigest;
    HttpResponse<InputStream> resp = exchange("PUT", uri("/manifests/" + tagOrDigest), Map.of("Content-Type", mediaType),
        () -> HttpRequest.BodyPublishers.ofByteArray(bytes), true, what);
    byte[] body = readError(resp);
    failUnlessSuccess(resp, body, what);
  }

  private URI uri(String path) {
    return URI.create(scheme + "://" + ref.authority() + "/v2/" + ref.repository() + path);
  }

  /** Sends a request, answering auth challenges and retrying retryable failures; see the class comment. */
  private HttpResponse<InputStream> exchange(String method, URI uri, Map<String, String> headers,
      Supplier<HttpRequest.BodyPublisher> body, boolean push, String what) {
    String scope = push ? pushScope : pullScope;
    boolean challenged = false;
    for (int attempt = 1; ; attempt++) {
      HttpResponse<InputStream> resp;
      try {
        resp = sendFollowingRedirects(method, uri, headers, body, scope);
      } catch (IOException e) {
        if (!retrier.mayRetry(attempt)) {
          throw new UnavailableException("cannot reach registry " + ref.authority() + " (" + what + "): "
              + describe(e) + (attempt > 1 ? " after " + attempt + " attempts" : "") + "; check the address and try again later", e);
        }
        retrier.pause(attempt, retrier.delay(attempt, null, "registry " + ref.authority()), what + ": " + describe(e));
        continue;
      }
      int s = resp.statusCode();
      if (s == 401) {
        List<String> challenges = resp.headers().allValues("WWW-Authenticate");
        close(resp);
        if (challenged) {
          throw auth.hasCredentials(ref.authority())
              ? RegistryAuth.rejected(ref.authority(), auth.credentials(ref.authority()))
              : RegistryAuth.missing(ref.authority());
        }
        auth.forget(ref.authority(), scope);
        auth.answer(http, ref.authority(), scope, challenges);
        challenged = true;
        attempt--;
        continue;
      }
      if (s == 403) {
        byte[] err = readError(resp);
        throw new AuthException(AuthException.Reason.DENIED, "registry " + ref.authority() + " denied "
            + auth.credentials(ref.authority()).map(c -> "user '" + c.username() + "'").orElse("anonymous access")
            + " to " + (push ? "push to " : "pull from ") + ref.repository() + errorSuffix(err));
      }
      if (s == 429 || s >= 500) {
        String retryAfter = resp.headers().firstValue("Retry-After").orElse(null);
        byte[] err = readError(resp);
        if (!retrier.mayRetry(attempt)) {
          throw new UnavailableException("registry " + ref.authority() + " answered HTTP " + s + " to " + what
              + errorSuffix(err) + " after " + attempt + " attempts; try again later");
        }
        retrier.pause(attempt, retrier.delay(attempt, retryAfter, "registry " + ref.authority()), "HTTP " + s + " to " + what);
        continue;
      }
      return resp;
    }
  }

  private HttpResponse<InputStream> sendFollowingRedirects(String method, URI uri, Map<String, String> headers,
      Supplier<HttpRequest.BodyPublisher> body, String scope) throws IOException {
    URI u = uri;
    for (int hop = 0; ; hop++) {
      HttpRequest.Builder b = HttpRequest.newBuilder(u).timeout(timeout)
          .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : body.get());
      headers.forEach(b::header);
      if (ref.authority().equalsIgnoreCase(u.getRawAuthority())) {
        auth.header(ref.authority(), scope).ifPresent(h -> b.header("Authorization", h));
      }
      HttpResponse<InputStream> resp;
      try {
        resp = http.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new CancelledException("interrupted during " + method + " " + u, e);
      }
      int s = resp.statusCode();
      boolean redirect = s == 301 || s == 302 || s == 303 || s == 307 || s == 308;
      if (redirect && (method.equals("GET") || method.equals("HEAD")) && hop < MAX_REDIRECTS) {
        Optional<String> location = resp.headers().firstValue("Location");
        if (location.isPresent()) {
          close(resp);
          u = u.resolve(location.get());
          continue;
        }
      }
      return resp;
    }
  }

  private void failUnlessSuccess(HttpResponse<?> resp, byte[] body, String what) {
    int s = resp.statusCode();
    if (s >= 200 && s < 300) {
      return;
    }
    if (s == 404) {
      throw new NotFoundException(describe() + ": " + what + " found nothing" + errorSuffix(body));
    }
    throw new RequestRejectedException("registry " + ref.authority() + " refused " + what + ": HTTP " + s + errorSuffix(body));
  }

  /** {@code " (CODE: message)"} from a distribution-spec error body, or "". */
  static String errorSuffix(byte[] body) {
    if (body == null || body.length == 0) {
      return "";
    }
    try {
      JsonNode errors = Oci.JSON.readTree(body).path("errors");
      if (errors.isArray() && !errors.isEmpty()) {
        JsonNode e = errors.get(0);
        return " (" + e.path("code").asText("?") + ": " + e.path("message").asText("") + ")";
      }
    } catch (IOException | RuntimeException ignored) {
      // Not the spec's error JSON.
    }
    return "";
  }

  private static byte[] readError(HttpResponse<InputStream> resp) {
    try (InputStream in = resp.body()) {
      return in.readNBytes(64 << 10);
    } catch (IOException e) {
      return new byte[0];
    }
  }

  private static void close(HttpResponse<InputStream> resp) {
    try {
      resp.body().close();
    } catch (IOException ignored) {
      // Closing only releases the connection.
    }
  }

  private static String describe(IOException e) {
    if (e instanceof java.net.ConnectException) {
      return "connection refused";
    }
    if (e instanceof java.net.http.HttpConnectTimeoutException) {
      return "connect timed out";
    }
    if (e instanceof java.net.http.HttpTimeoutException) {
      return "no response in time";
    }
    for (Throwable t = e; t != null; t = t.getCause()) {
      if (t.getMessage() != null && !t.getMessage().isBlank()) {
        return t.getClass().getSimpleName() + ": " + t.getMessage();
      }
    }
    return e.getClass().getSimpleName();
  }
}
