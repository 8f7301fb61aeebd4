package dev.edgelm.hub.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.CancelledException;
import dev.edgelm.hub.Credentials;
import dev.edgelm.hub.UnavailableException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Answers registry auth challenges, as docker does: {@code Basic} sends the configured credentials;
 * {@code Bearer} asks the token service named by {@code realm} for a token for the challenge's
 * {@code service} and {@code scope}, presenting the credentials (if any) as basic auth, and caches
 * the token per registry and scope. Shared by all requests of one hub client.
 */
final class RegistryAuth {
  private static final Pattern PARAM = Pattern.compile("([A-Za-z_]+)=(?:\"([^\"]*)\"|([^,\\s]*))");

  private final Credentials.Provider credentials;
  private final Duration timeout;
  /** authority + " " + scope → Authorization header value. */
  private final Map<String, String> headers = new ConcurrentHashMap<>();

  RegistryAuth(Credentials.Provider credentials, Duration timeout) {
    this.credentials = credentials;
    this.timeout = timeout;
  }

  /** The Authorization header known to work for this registry and scope, if any. */
  Optional<String> header(String authority, String scope) {
    String h = headers.get(authority + " " + scope);
    return Optional.ofNullable(h != null ? h : headers.get(authority + " *"));
  }

  /** Drops a header that stopped working (an expired token). */
  void forget(String authority, String scope) {
    headers.remove(authority + " " + scope);
    headers.remove(authority + " *");
  }

  /**
   * Answers a 401: works out an Authorization header for {@code scope} from the challenge and
   * remembers it. Throws {@link AuthException} when credentials are needed and missing, or rejected
   * by the token service.
   */
  void answer(HttpClient http, String authority, String scope, List<String> challenges) {
    Map<String, String> bearer = null;
    boolean basic = false;
    for (String c : challenges) {
      String lower = c.strip().toLowerCase(Locale.ROOT);
      if (lower.startsWith("bearer")) {
        bearer = params(c.strip().substring(6));
      } else if (lower.startsWith("basic")) {
        basic = true;
      }
    }
    Optional<Credentials> creds = credentials.forRegistry(authority);
    if (bearer != null && bearer.containsKey("realm")) {
      headers.put(authority + " " + scope, "Bearer " + token(http, authority, bearer, scope, creds));
      return;
    }
    if (basic || challenges.isEmpty()) {
      if (creds.isEmpty()) {
        throw missing(authority);
      }
      headers.put(authority + " *", basicHeader(creds.get()));
      return;
    }
    throw new AuthException(AuthException.Reason.MISSING_CREDENTIALS,
        "registry " + authority + " asks for an authentication scheme edgelm does not speak: " + challenges);
  }

  static AuthException missing(String authority) {
    return new AuthException(AuthException.Reason.MISSING_CREDENTIALS,
        "registry " + authority + " requires authentication and no credentials were given for it");
  }

  static AuthException rejected(String authority, Optional<Credentials> creds) {
    return new AuthException(AuthException.Reason.REJECTED_CREDENTIALS, "registry " + authority
        + " rejected the credentials of user '" + creds.map(Credentials::username).orElse("?") + "'; check the user name and password");
  }

  boolean hasCredentials(String authority) {
    return credentials.forRegistry(authority).isPresent();
  }

  Optional<Credentials> credentials(String authority) {
    return credentials.forRegistry(authority);
  }

  private String token(HttpClient http, String authority, Map<String, String> challenge, String scope, Optional<Credentials> creds) {
    StringBuilder url = new StringBuilder(challenge.get("realm"));
    url.append(url.indexOf("?") >= 0 ? '&' : '?');
    if (challenge.containsKey("service")) {
      url.append("service=").append(enc(challenge.get("service"))).append('&');
    }
    String wanted = challenge.getOrDefault("scope", scope);
    url.append("scope=").append(enc(wanted));
    HttpRequest.Builder req = HttpRequest.newBuilder(URI.create(url.toString())).timeout(timeout).GET();
    creds.ifPresent(c -> req.header("Authorization", basicHeader(c)));
    HttpResponse<InputStream> resp;
    try {
      resp = http.send(req.build(), HttpResponse.BodyHandlers.ofInputStream());
    } catch (IOException e) {
      throw new UnavailableException("cannot reach the token service of " + authority + " at " + challenge.get("realm") + ": " + e, e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancelledException("interrupted while fetching a registry token", e);
    }
    try (InputStream in = resp.body()) {
      byte[] body = in.readNBytes(1 << 20);
      if (resp.statusCode() == 401 || resp.statusCode() == 403) {
        throw creds.isPresent() ? rejected(authority, creds) : missing(authority);
      }
      if (resp.statusCode() >= 500) {
        throw new UnavailableException("token service of " + authority + " answered HTTP " + resp.statusCode());
      }
      if (resp.statusCode() != 200) {
        throw new AuthException(AuthException.Reason.REJECTED_CREDENTIALS,
            "token service of " + authority + " answered HTTP " + resp.statusCode());
      }
      JsonNode node = Oci.JSON.readTree(body);
      JsonNode t = node.hasNonNull("token") ? node.get("token") : node.get("access_token");
      if (t == null || t.asText().isEmpty()) {
        throw new AuthException(AuthException.Reason.REJECTED_CREDENTIALS, "token service of " + authority + " returned no token");
      }
      return t.asText();
    } catch (IOException e) {
      throw new UnavailableException("reading a token from " + authority + " failed: " + e, e);
    }
  }

  static Map<String, String> params(String s) {
    Map<String, String> out = new LinkedHashMap<>();
    Matcher m = PARAM.matcher(s);
    while (m.find()) {
      out.put(m.group(1).toLowerCase(Locale.ROOT), m.group(2) != null ? m.group(2) : m.group(3));
    }
    return out;
  }

  static String basicHeader(Credentials c) {
    return "Basic " + Base64.getEncoder().encodeToString((c.username() + ":" + c.password()).getBytes(StandardCharsets.UTF_8));
  }

  private static String enc(String s) {
    return URLEncoder.encode(s, StandardCharsets.UTF_8);
  }
}
