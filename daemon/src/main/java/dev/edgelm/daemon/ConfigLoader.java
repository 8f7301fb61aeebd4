package dev.edgelm.daemon;

import dev.edgelm.daemon.DaemonConfig.Api;
import dev.edgelm.daemon.DaemonConfig.Auth;
import dev.edgelm.daemon.DaemonConfig.Cache;
import dev.edgelm.daemon.DaemonConfig.ConfigSources;
import dev.edgelm.daemon.DaemonConfig.Host;
import dev.edgelm.daemon.DaemonConfig.HubAccess;
import dev.edgelm.daemon.DaemonConfig.Limits;
import dev.edgelm.daemon.DaemonConfig.Model;
import dev.edgelm.daemon.DaemonConfig.Runtime;
import dev.edgelm.daemon.DaemonConfig.Select;
import dev.edgelm.daemon.DaemonConfig.Server;
import dev.edgelm.daemon.DaemonConfig.Telemetry;
import dev.edgelm.daemon.DaemonConfig.Tls;
import dev.edgelm.engine.EngineException;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.chat.ChatTemplate;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.SignaturePolicy;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * Turns configuration sources into a validated {@link DaemonConfig}: merges defaults, the file, the environment and
 * flags ({@link ConfigValues}), then parses and checks each section, throwing a {@link ConfigException} that names the
 * first invalid key and where its value came from. The keys and their defaults are in {@link ConfigKeys}.
 *
 * <p>Package-private: the API is {@link DaemonConfig#load}. Stateless.
 */
final class ConfigLoader {
  private ConfigLoader() {}

  static DaemonConfig load(ConfigSources sources) {
    return fromValues(values(sources), sources.environment());
  }

  /** The merged raw values with their origins; not validated. */
  static String render(ConfigSources sources) {
    return values(sources).render();
  }

  private static ConfigValues values(ConfigSources sources) {
    ConfigValues v = new ConfigValues();
    if (sources.file() != null) {
      if (!Files.isRegularFile(sources.file())) {
        throw new ConfigException(null, "config file " + sources.file() + " does not exist");
      }
      v.readFile(sources.file());
    }
    return v.readEnvironment(sources.environment()).readFlags(sources.flags());
  }

  private static DaemonConfig fromValues(ConfigValues v, Map<String, String> env) {
    int cpus = java.lang.Runtime.getRuntime().availableProcessors();
    Server server = new Server(
        host(v, "server.host"),
        host(v, "server.http_host"),
        v.integer("server.grpc_port", 0, 65535),
        v.integer("server.http_port", -1, 65535),
        v.integer("server.openai_port", -1, 65535),
        v.path("server.port_file"),
        v.integer("server.event_loops", 1, 64),
        positive(v, "server.drain_timeout", true),
        sizeInRange(v, "server.max_request_bytes", 1024, Integer.MAX_VALUE),
        v.bool("server.insecure_bind"));
    if (server.httpPort() > 0 && server.httpPort() == server.grpcPort()) {
      throw v.invalid("server.http_port", "must differ from server.grpc_port");
    }
    if (server.openaiPort() > 0 && (server.openaiPort() == server.grpcPort() || server.openaiPort() == server.httpPort())) {
      throw v.invalid("server.openai_port", "must differ from server.grpc_port and server.http_port");
    }
    Tls tls = tls(v);
    Auth auth = new Auth(apiKeys(v));
    int workers = v.integer("generation.workers", 0, 1024);
    Limits limits = new Limits(
        workers == 0 ? cpus : workers,
        v.integer("generation.max_concurrent", 1, 1024),
        v.integer("generation.max_queued", 0, 1_000_000),
        v.integer("generation.default_max_tokens", 1, 1 << 20),
        v.integer("generation.max_context", 0, 1 << 24),
        v.integer("generation.max_buffered_messages", 1, 1 << 16),
        positive(v, "generation.stall_timeout", false));
    String provider = v.choice("runtime.execution_provider", List.copyOf(new java.util.TreeSet<>(SessionSettings.EXECUTION_PROVIDERS)));
    Runtime runtime = new Runtime(v.integer("runtime.intra_op_threads", 0, 256), provider);
    Cache cache = new Cache(v.bytes("cache.memory_budget", physicalMemory()), positive(v, "cache.keep_alive", false));
    if (cache.memoryBudgetBytes() <= 0) {
      throw v.invalid("cache.memory_budget", "must be positive");
    }
    HubAccess hub = hub(v, env);
    Host host = HostKeys.host(v, env);
    Select select = new Select(v.decimal("select.max_perplexity_ratio", 0, 1000), sizeInRange(v, "select.memory_overhead", 0, 1L << 40),
        v.decimal("select.speed_tolerance", 0, 0.99), v.integer("select.benchmark_top", 0, 16), v.integer("select.benchmark_tokens", 1, 4096));
    if (select.maxPerplexityRatio() > 0 && select.maxPerplexityRatio() < 1) {
      throw v.invalid("select.max_perplexity_ratio", "must be 0 (no floor) or at least 1 (a variant's perplexity over the base's)");
    }
    Telemetry telemetry = telemetry(v);
    List<Model> models = models(v, limits);
    return new DaemonConfig(server, tls, auth, limits, runtime, cache, hub, host, select, telemetry, api(v, server, models), models);
  }



  /** The api.* keys; off loopback, their defaults add nothing the configuration does not name. */
  private static Api api(ConfigValues v, Server server, List<Model> models) {
    boolean allow = v.isSet("api.allow_new_models") ? v.bool("api.allow_new_models") : server.loopback();
    List<Path> roots = new ArrayList<>();
    for (String r : v.list("api.load_roots")) {
      Path p = Path.of(r);
      if (!Files.isDirectory(p)) {
        throw v.invalid("api.load_roots", "names " + r + ", which is not a directory");
      }
      try {
        roots.add(p.toRealPath());
      } catch (java.io.IOException e) {
        throw v.invalid("api.load_roots", "cannot resolve " + r + ": " + e.getMessage());
      }
    }
    List<String> registries = new ArrayList<>(v.list("api.pull_registries"));
    if (registries.isEmpty() && !server.loopback()) {
      for (Model m : models) {
        if (m.reference() != null) {
          registries.add(DaemonConfig.registryOf(m.reference()));
        }
      }
      if (registries.isEmpty()) {
        registries.add(""); // nothing is a registry called "": no new reference may be pulled
      }
    }
    return new Api(allow, roots, registries);
  }





  private static String host(ConfigValues v, String key) {
    String host = v.string(key);
    if (host.isEmpty() || host.contains(" ") || host.contains("/")) {
      throw v.invalid(key, "must be an IP address or host name");
    }
    return host;
  }

  private static Duration positive(ConfigValues v, String key, boolean strictlyPositive) {
    Duration d = v.duration(key);
    if (strictlyPositive && d.isZero()) {
      throw v.invalid(key, "must be longer than zero");
    }
    return d;
  }

  static long sizeInRange(ConfigValues v, String key, long min, long max) {
    long b = v.bytes(key, physicalMemory());
    if (b < min || b > max) {
      throw v.invalid(key, "must be between " + min + " and " + max + " bytes");
    }
    return b;
  }

  private static Tls tls(ConfigValues v) {
    Path cert = v.readableFile("tls.cert_file");
    Path key = v.readableFile("tls.key_file");
    Path ca = v.readableFile("tls.client_ca_file");
    if ((cert == null) != (key == null)) {
      throw v.invalid(cert == null ? "tls.cert_file" : "tls.key_file", "TLS needs both tls.cert_file and tls.key_file");
    }
    if (ca != null && cert == null) {
      throw v.invalid("tls.client_ca_file", "mutual TLS needs tls.cert_file and tls.key_file too");
    }
    return new Tls(cert, key, ca);
  }

  private static List<String> apiKeys(ConfigValues v) {
    List<String> keys = new ArrayList<>(v.list("auth.api_keys"));
    Path file = v.readableFile("auth.api_keys_file");
    if (file != null) {
      try {
        for (String line : Files.readAllLines(file)) {
          String k = line.strip();
          if (!k.isEmpty() && !k.startsWith("#")) {
            keys.add(k);
          }
        }
      } catch (IOException e) {
        throw v.invalid("auth.api_keys_file", "cannot be read: " + e.getMessage());
      }
      if (keys.isEmpty()) {
        throw v.invalid("auth.api_keys_file", "holds no key (an empty key file would silently turn authentication off)");
      }
    }
    for (String k : keys) {
      if (k.length() < 8 || !k.chars().allMatch(c -> c > 0x20 && c < 0x7f)) {
        throw new ConfigException("auth.api_keys", "every API key must be at least 8 printable ASCII characters without spaces");
      }
    }
    return keys;
  }

  private static HubAccess hub(ConfigValues v, Map<String, String> env) {
    Path store = v.path("hub.store");
    if (store == null) {
      String xdg = env.get("XDG_DATA_HOME");
      Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
      store = base.resolve("edgelm").resolve("store");
    }
    List<Path> keys = new ArrayList<>();
    for (String k : v.list("hub.trusted_keys")) {
      Path p = Path.of(k);
      if (!Files.isRegularFile(p)) {
        // The error shows the value: name the missing file only when the value lists more than one.
        throw v.invalid("hub.trusted_keys", v.list("hub.trusted_keys").size() == 1 ? "must name readable files (no such file)"
            : "names " + k + ", which is not a readable file");
      }
      keys.add(p);
    }
    // A host that trusts a key takes no unsigned release unless hub.verify says otherwise.
    SignaturePolicy policy = v.isSet("hub.verify")
        ? SignaturePolicy.valueOf(v.choice("hub.verify", List.of("require", "warn", "off")).toUpperCase(Locale.ROOT))
        : keys.isEmpty() ? SignaturePolicy.WARN : SignaturePolicy.REQUIRE;
    if (policy == SignaturePolicy.REQUIRE && keys.isEmpty()) {
      throw v.invalid("hub.verify", "'require' needs at least one hub.trusted_keys file");
    }
    String user = v.string("hub.username");
    String password = v.string("hub.password");
    if (user.isEmpty() != password.isEmpty()) {
      throw v.invalid(user.isEmpty() ? "hub.username" : "hub.password", "hub credentials need both hub.username and hub.password");
    }
    return new HubAccess(store, v.bool("hub.offline"), policy, keys, v.bool("hub.plain_http"), v.readableFile("hub.ca_file"), user, password,
        positive(v, "hub.poll_interval", false));
  }

  private static Telemetry telemetry(ConfigValues v) {
    String endpoint = v.string("telemetry.otlp_endpoint");
    if (!endpoint.isEmpty() && !(endpoint.startsWith("http://") || endpoint.startsWith("https://"))) {
      throw v.invalid("telemetry.otlp_endpoint", "must be an http:// or https:// URL");
    }
    Duration interval = positive(v, "telemetry.metric_export_interval", true);
    return new Telemetry(endpoint, v.choice("telemetry.otlp_protocol", List.of("http/protobuf", "grpc")),
        v.string("telemetry.service_name").isEmpty() ? Telemetry.DEFAULT_SERVICE_NAME : v.string("telemetry.service_name"),
        interval, v.decimal("telemetry.trace_sample_ratio", 0, 1));
  }

  private static List<Model> models(ConfigValues v, Limits limits) {
    List<Model> out = new ArrayList<>();
    Set<Path> seenPaths = new HashSet<>();
    for (String name : v.modelNames()) {
      String p = "models." + name + ".";
      boolean hasPath = v.isSet(p + "path");
      boolean hasRef = v.isSet(p + "ref");
      if (hasPath == hasRef) {
        throw v.invalid(p + (hasPath ? "ref" : "path"), "give exactly one of " + p + "path (a package directory) and " + p + "ref (a hub reference)");
      }
      Path path = null;
      Reference ref = null;
      String variant = null;
      if (hasPath) {
        path = v.path(p + "path").toAbsolutePath().normalize();
        try {
          ModelPackage.describe(path); // digests are checked when the model loads, not before the ports are bound
        } catch (EngineException e) {
          throw v.invalid(p + "path", "must be a model package directory (" + e.getMessage() + ")");
        }
        if (!seenPaths.add(path)) {
          throw v.invalid(p + "path", "serves the same package as another model; give each package one name");
        }
        if (v.isSet(p + "variant")) {
          throw v.invalid(p + "variant", "only applies with " + p + "ref");
        }
      } else {
        try {
          ref = Reference.parse(v.string(p + "ref"));
        } catch (BadReferenceException e) {
          throw v.invalid(p + "ref", e.getMessage());
        }
        // No variant: the daemon selects the one that runs best on this host.
        variant = v.isSet(p + "variant") ? v.string(p + "variant") : null;
      }
      out.add(new Model(name, path, ref, variant, v.boolOr(p + "pin", false),
          v.integerOr(p + "max_concurrent", limits.maxConcurrent(), 1, 1024),
          v.integerOr(p + "max_queued", limits.maxQueued(), 0, 1_000_000),
          v.boolOr(p + "preload", true), chatTemplate(v, p + "chat_template")));
    }
    return out;
  }

  /** {@code models.<name>.chat_template}: a built-in name, or a readable file (absolute); null when unset. */
  private static String chatTemplate(ConfigValues v, String key) {
    if (!v.isSet(key)) {
      return null;
    }
    String t = v.string(key);
    if (ChatTemplate.BUILT_IN.contains(t)) {
      return t;
    }
    Path file = v.path(key).toAbsolutePath().normalize();
    if (!Files.isRegularFile(file) || !Files.isReadable(file)) {
      throw v.invalid(key, "must be a readable template file or one of " + String.join(", ", ChatTemplate.BUILT_IN) + "; " + file + " is not");
    }
    return file.toString();
  }

  /** Physical memory as the JVM sees it (container limits included), for percentage budgets. */
  static long physicalMemory() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getTotalMemorySize();
    }
    return 8L << 30;
  }
}
