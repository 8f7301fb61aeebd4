package dev.edgelm.daemon;

import dev.edgelm.daemon.internal.ConfigKeys;
import dev.edgelm.daemon.internal.ConfigValues;
import dev.edgelm.engine.EngineException;
import dev.edgelm.engine.ModelPackage;
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
import java.util.Objects;
import java.util.Set;

/**
 * Everything the daemon is configured with, immutable and validated. Load it once at start with
 * {@link #load(ConfigSources)}: defaults, then the config file, then {@code EDGELMD_*} environment
 * variables, then flags; the first invalid value throws a {@link ConfigException} naming its key and
 * where it came from. {@link #describe()} documents every key.
 *
 * @param api what callers may add beyond the configuration (see {@link Api})
 * @param models the configured models, in configuration order
 */
public record DaemonConfig(
    Server server,
    Tls tls,
    Auth auth,
    Limits generation,
    Runtime runtime,
    Cache cache,
    HubAccess hub,
    Host host,
    Select select,
    Telemetry telemetry,
    Api api,
    List<Model> models) {

  public DaemonConfig {
    Objects.requireNonNull(server, "server");
    Objects.requireNonNull(tls, "tls");
    Objects.requireNonNull(auth, "auth");
    Objects.requireNonNull(generation, "generation");
    Objects.requireNonNull(runtime, "runtime");
    Objects.requireNonNull(cache, "cache");
    Objects.requireNonNull(hub, "hub");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(select, "select");
    Objects.requireNonNull(telemetry, "telemetry");
    Objects.requireNonNull(api, "api");
    models = List.copyOf(models);
  }

  /**
   * What Models.Load and Models.Pull may add beyond the configured models.
   *
   * @param allowNewModels whether they may add models the configuration does not name at all
   * @param loadRoots directories packages (and oci: layouts) may be read from; empty means anywhere
   * @param pullRegistries registries (HOST[:PORT]) new hub references may name; empty means any
   */
  public record Api(boolean allowNewModels, List<Path> loadRoots, List<String> pullRegistries) {
    public Api {
      loadRoots = List.copyOf(loadRoots);
      pullRegistries = List.copyOf(pullRegistries);
    }
  }

  /**
   * Network settings.
   *
   * @param portFile where to write the bound ports once listening, or null
   * @param httpPort -1 when the HTTP port is off
   */
  public record Server(String host, String httpHost, int grpcPort, int httpPort, Path portFile, int eventLoops, Duration drainTimeout,
      long maxRequestBytes, boolean insecureBind) {
    public static final String DEFAULT_HOST = "127.0.0.1";

    /** Whether the gRPC port is reachable only from this host. */
    public boolean loopback() {
      return isLoopback(host);
    }
    public static final int DEFAULT_GRPC_PORT = 50051;
    public static final int DEFAULT_HTTP_PORT = 9464;
    public static final int DEFAULT_EVENT_LOOPS = 1;
    public static final String DEFAULT_DRAIN_TIMEOUT = "30s";
    public static final String DEFAULT_MAX_REQUEST_BYTES = "1MiB";
  }

  /** TLS of the gRPC port; all null when off. {@code clientCaFile} set means mutual TLS. */
  public record Tls(Path certFile, Path keyFile, Path clientCaFile) {
    public boolean enabled() {
      return certFile != null;
    }

    public boolean mutual() {
      return clientCaFile != null;
    }
  }

  /** API keys; empty means no authentication. {@link #toString()} never shows them. */
  public record Auth(List<String> apiKeys) {
    public Auth {
      apiKeys = List.copyOf(apiKeys);
    }

    public boolean enabled() {
      return !apiKeys.isEmpty();
    }

    @Override
    public String toString() {
      return "Auth[" + apiKeys.size() + " keys]";
    }
  }

  /**
   * Generation limits and defaults.
   *
   * @param workers decode threads (already resolved: never 0)
   * @param maxContext cap on prompt + output tokens, 0 for the model's context
   * @param maxBufferedMessages per stream, response messages not yet sent before decoding pauses
   * @param stallTimeout how long a stream may stay paused for a reader that takes nothing before it is
   *     cancelled and its slot freed (zero = never)
   */
  public record Limits(int workers, int maxConcurrent, int maxQueued, int defaultMaxTokens, int maxContext, int maxBufferedMessages,
      Duration stallTimeout) {
    public static final int DEFAULT_WORKERS = 0;
    public static final int DEFAULT_MAX_CONCURRENT = 4;
    public static final int DEFAULT_MAX_QUEUED = 16;
    public static final int DEFAULT_DEFAULT_MAX_TOKENS = 256;
    public static final int DEFAULT_MAX_CONTEXT = 0;
    public static final int DEFAULT_MAX_BUFFERED_MESSAGES = 16;
    public static final String DEFAULT_STALL_TIMEOUT = "30s";
  }

  /** How ONNX Runtime sessions run. */
  public record Runtime(int intraOpThreads, String executionProvider) {
    public static final int DEFAULT_INTRA_OP_THREADS = 1;
    public static final String DEFAULT_EXECUTION_PROVIDER = "cpu";

    public SessionSettings sessionSettings() {
      return SessionSettings.DEFAULTS.withIntraOpThreads(intraOpThreads).withExecutionProvider(executionProvider);
    }
  }

  /** The model cache: a memory budget in bytes and the keep-alive of idle unpinned models (zero = forever). */
  public record Cache(long memoryBudgetBytes, Duration keepAlive) {
    public static final String DEFAULT_MEMORY_BUDGET = "50%";
    public static final String DEFAULT_KEEP_ALIVE = "30m";
  }

  /**
   * Hub access for models named by reference. {@link #toString()} hides the password.
   *
   * @param pollInterval how often a model whose reference names a tag checks whether the tag moved
   *     (zero = never)
   */
  public record HubAccess(Path store, boolean offline, SignaturePolicy verify, List<Path> trustedKeys, boolean plainHttp, Path caFile,
      String username, String password, Duration pollInterval) {
    public static final String DEFAULT_POLL_INTERVAL = "10m";

    public HubAccess {
      trustedKeys = List.copyOf(trustedKeys);
    }

    @Override
    public String toString() {
      return "HubAccess[store=" + store + ", offline=" + offline + ", verify=" + verify + ", user=" + username + ", poll=" + pollInterval + "]";
    }
  }

  /**
   * The host as the operator describes it: overrides of probed facts ({@code host.*}), whether to
   * measure memory bandwidth, and where measurements are cached.
   *
   * @param cacheDir bandwidth and on-device benchmark caches (default {@code $XDG_CACHE_HOME/edgelm})
   */
  public record Host(HostOverrides overrides, boolean measureBandwidth, Path cacheDir) {
    public HostProbe.Options probeOptions() {
      return HostProbe.Options.system(cacheDir, overrides).withMeasureBandwidth(measureBandwidth);
    }
  }

  /** Variant selection settings ({@code select.*}); see {@link SelectionPolicy}. */
  public record Select(double maxPerplexityRatio, long memoryOverheadBytes, double speedTolerance, int benchmarkTop, int benchmarkTokens) {}

  /** The selection policy of hub model {@code m}: its context, concurrency and pin, and the daemon's budget and floor. */
  public SelectionPolicy selectionPolicy(Model m) {
    return new SelectionPolicy(generation.maxContext(), m.maxConcurrent(), cache.memoryBudgetBytes(), select.memoryOverheadBytes(),
        select.maxPerplexityRatio(), m.variant(), select.speedTolerance(), select.benchmarkTop(), select.benchmarkTokens(),
        runtime.intraOpThreads());
  }

  /** OpenTelemetry export. An empty endpoint exports nothing (the Prometheus endpoint still works). */
  public record Telemetry(String otlpEndpoint, String otlpProtocol, String serviceName, Duration metricExportInterval, double traceSampleRatio) {
    public static final String DEFAULT_OTLP_PROTOCOL = "http/protobuf";
    public static final String DEFAULT_SERVICE_NAME = "edgelmd";
    public static final String DEFAULT_METRIC_EXPORT_INTERVAL = "60s";
    public static final double DEFAULT_TRACE_SAMPLE_RATIO = 1.0;

    public boolean otlpEnabled() {
      return !otlpEndpoint.isEmpty();
    }
  }

  /**
   * One served model: a package directory or a hub reference with a variant.
   *
   * @param path the package directory, or null for a hub model
   * @param reference the hub reference, or null for a local model
   * @param variant the variant id the operator pinned, or null to let the daemon choose the variant
   *     that runs best on this host
   * @param preload load at start and hold health NOT_SERVING until loaded
   */
  public record Model(String name, Path path, String reference, String variant, boolean pin, int maxConcurrent, int maxQueued, boolean preload) {
    public Model {
      Objects.requireNonNull(name, "name");
      if ((path == null) == (reference == null)) {
        throw new IllegalArgumentException("model " + name + ": give exactly one of path and reference");
      }
    }

    public boolean fromHub() {
      return reference != null;
    }
  }

  /**
   * Where configuration comes from.
   *
   * @param file a YAML or JSON config file, or null
   * @param environment the process environment (only {@code EDGELMD_*}, {@code XDG_DATA_HOME} and {@code XDG_CACHE_HOME} are read)
   * @param flags key overrides from the command line, applied last
   */
  public record ConfigSources(Path file, Map<String, String> environment, Map<String, String> flags) {
    public ConfigSources {
      environment = Map.copyOf(environment);
      // Flag order is model order (--model a --model b serves a first).
      flags = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(flags));
    }

    /** Only flags (tests). */
    public static ConfigSources ofFlags(Map<String, String> flags) {
      return new ConfigSources(null, Map.of(), flags);
    }
  }

  /**
   * Loads and validates the configuration.
   *
   * @throws ConfigException naming the first invalid key and where its value came from
   */
  public static DaemonConfig load(ConfigSources sources) {
    return fromValues(values(sources), sources.environment());
  }

  /** The merged raw values with their origins (for {@code --print-config}); not validated. */
  public static String render(ConfigSources sources) {
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

  /** Every key with its meaning, default and environment variable. */
  public static String describe() {
    return ConfigKeys.describe();
  }

  private static DaemonConfig fromValues(ConfigValues v, Map<String, String> env) {
    int cpus = java.lang.Runtime.getRuntime().availableProcessors();
    Server server = new Server(
        host(v, "server.host"),
        host(v, "server.http_host"),
        v.integer("server.grpc_port", 0, 65535),
        v.integer("server.http_port", -1, 65535),
        v.path("server.port_file"),
        v.integer("server.event_loops", 1, 64),
        positive(v, "server.drain_timeout", true),
        sizeInRange(v, "server.max_request_bytes", 1024, Integer.MAX_VALUE),
        v.bool("server.insecure_bind"));
    if (server.httpPort() > 0 && server.httpPort() == server.grpcPort()) {
      throw v.invalid("server.http_port", "must differ from server.grpc_port");
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
    Host host = host(v, env);
    Select select = new Select(v.decimal("select.max_perplexity_ratio", 0, 1000), sizeInRange(v, "select.memory_overhead", 0, 1L << 40),
        v.decimal("select.speed_tolerance", 0, 0.99), v.integer("select.benchmark_top", 0, 16), v.integer("select.benchmark_tokens", 1, 4096));
    if (select.maxPerplexityRatio() > 0 && select.maxPerplexityRatio() < 1) {
      throw v.invalid("select.max_perplexity_ratio", "must be 0 (no floor) or at least 1 (a variant's perplexity over the base's)");
    }
    Telemetry telemetry = telemetry(v);
    List<Model> models = models(v, limits);
    return new DaemonConfig(server, tls, auth, limits, runtime, cache, hub, host, select, telemetry, api(v, server, models), models);
  }

  /**
   * Refuses to serve other hosts unauthenticated, as Redis's protected mode does: a server.host beyond loopback needs
   * API keys or mutual TLS, unless server.insecure_bind says the network itself is trusted. Checked when serving
   * starts (not at load, so --print-capabilities runs in any container).
   *
   * @throws ConfigException naming server.host and the ways out
   */
  public void requireSafeBind() {
    if (!server.loopback() && !auth.enabled() && !tls.mutual() && !server.insecureBind()) {
      throw new ConfigException("server.host", "binds " + server.host() + ", which other hosts can reach, with neither auth.api_keys "
          + "nor mutual TLS (tls.client_ca_file): anyone could generate, load models and pull; set API keys, or start with "
          + "--insecure-bind (server.insecure_bind=true) if the network itself is trusted");
    }
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
          registries.add(registryOf(m.reference()));
        }
      }
      if (registries.isEmpty()) {
        registries.add(""); // nothing is a registry called "": no new reference may be pulled
      }
    }
    return new Api(allow, roots, registries);
  }

  /** The registry a hub reference names, HOST[:PORT]; for an OCI layout, "oci:" and its directory. */
  public static String registryOf(String reference) {
    dev.edgelm.hub.Reference r = dev.edgelm.hub.Reference.parse(reference);
    return r instanceof dev.edgelm.hub.Reference.Registry reg ? reg.authority()
        : "oci:" + ((dev.edgelm.hub.Reference.Layout) r).path().toAbsolutePath().normalize();
  }

  /** Whether {@code host} (an address or a name) is this host's loopback interface. */
  public static boolean isLoopback(String host) {
    String h = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    if (h.equals("localhost")) {
      return true;
    }
    try {
      return java.net.InetAddress.getByName(h).isLoopbackAddress();
    } catch (java.net.UnknownHostException e) {
      return false;
    }
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

  private static long sizeInRange(ConfigValues v, String key, long min, long max) {
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

  /** Parses the {@code host.*} keys: overrides of probed facts. */
  static Host host(ConfigValues v, Map<String, String> env) {
    String arch = null;
    if (v.isSet("host.arch")) {
      arch = switch (v.string("host.arch").toLowerCase(Locale.ROOT)) {
        case "x86_64", "amd64" -> "x86_64";
        case "aarch64", "arm64" -> "aarch64";
        default -> throw v.invalid("host.arch", "must be x86_64 (amd64) or aarch64 (arm64)");
      };
    }
    Set<String> features = null;
    if (v.isSet("host.cpu_features") || v.string("host.cpu_features").equalsIgnoreCase("none")) {
      features = new java.util.TreeSet<>();
      for (String f : v.list("host.cpu_features")) {
        String n = f.toLowerCase(Locale.ROOT);
        if (n.equals("none")) {
          continue;
        }
        if (!n.matches("[a-z0-9_]+")) {
          throw v.invalid("host.cpu_features", "must be comma-separated feature names such as avx2,avx512_vnni (or none)");
        }
        features.add(n);
      }
    }
    Set<String> providers = null;
    if (v.isSet("host.execution_providers")) {
      providers = new java.util.TreeSet<>(List.of("cpu"));
      for (String p : v.list("host.execution_providers")) {
        if (!p.matches("[A-Za-z0-9_-]+")) {
          throw v.invalid("host.execution_providers", "must be comma-separated provider names such as cpu,cuda");
        }
        providers.add(dev.edgelm.daemon.internal.probe.SystemHostProbe.providerName(p));
      }
    }
    String ort = null;
    if (v.isSet("host.onnxruntime_version")) {
      ort = v.string("host.onnxruntime_version");
      if (!ort.matches("\\d+(\\.\\d+){0,2}")) {
        throw v.invalid("host.onnxruntime_version", "must be a version such as 1.28.0");
      }
    }
    HostOverrides overrides = new HostOverrides(arch, features,
        v.isSet("host.cores") ? v.integer("host.cores", 1, 4096) : null,
        v.isSet("host.memory") ? sizeInRange(v, "host.memory", 1, Long.MAX_VALUE) : null,
        providers, ort,
        v.isSet("host.gpu_memory") ? sizeInRange(v, "host.gpu_memory", 1, Long.MAX_VALUE) : null,
        v.isSet("host.memory_bandwidth") ? (double) rate(v, "host.memory_bandwidth") : null,
        v.isSet("host.gpu_memory_bandwidth") ? (double) rate(v, "host.gpu_memory_bandwidth") : null,
        origins(v, "host."));
    Path cacheDir = v.path("host.cache_dir");
    if (cacheDir == null) {
      String xdg = env.get("XDG_CACHE_HOME");
      Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
      cacheDir = base.resolve("edgelm");
    }
    return new Host(overrides, v.bool("host.measure_bandwidth"), cacheDir);
  }

  /** Where each set key with this prefix came from ("flag", "file F", "environment V"). */
  private static Map<String, String> origins(ConfigValues v, String prefix) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (ConfigKeys.Key k : ConfigKeys.keys()) {
      if (k.name().startsWith(prefix) && v.isSet(k.name())) {
        out.put(k.name(), v.origin(k.name()));
      }
    }
    return out;
  }

  /** Bytes per second: a size with an optional "/s" (20GiB/s, 21474836480). */
  private static long rate(ConfigValues v, String key) {
    String s = v.string(key);
    String bare = s.toLowerCase(Locale.ROOT).endsWith("/s") ? s.substring(0, s.length() - 2) : s;
    try {
      long b = ConfigValues.parseSizeText(bare);
      if (b <= 0) {
        throw new IllegalArgumentException();
      }
      return b;
    } catch (RuntimeException e) {
      throw v.invalid(key, "must be bytes per second such as 20GiB/s or 21474836480");
    }
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
      String ref = null;
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
        ref = v.string(p + "ref");
        try {
          ref = Reference.parse(ref).toString();
        } catch (BadReferenceException e) {
          throw v.invalid(p + "ref", e.getMessage());
        }
        // No variant: the daemon selects the one that runs best on this host.
        variant = v.isSet(p + "variant") ? v.string(p + "variant") : null;
      }
      out.add(new Model(name, path, ref, variant, v.boolOr(p + "pin", false),
          v.integerOr(p + "max_concurrent", limits.maxConcurrent(), 1, 1024),
          v.integerOr(p + "max_queued", limits.maxQueued(), 0, 1_000_000),
          v.boolOr(p + "preload", true)));
    }
    return out;
  }

  /** Physical memory as the JVM sees it (container limits included), for percentage budgets. */
  static long physicalMemory() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return os.getTotalMemorySize();
    }
    return 8L << 30;
  }
}
