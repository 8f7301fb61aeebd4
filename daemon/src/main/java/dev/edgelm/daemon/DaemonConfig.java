package dev.edgelm.daemon;

import dev.edgelm.engine.SessionSettings;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.SignaturePolicy;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

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
   * @param openaiPort the OpenAI-compatible HTTP API's port on {@code host}, -1 when it is off
   */
  public record Server(String host, String httpHost, int grpcPort, int httpPort, int openaiPort, Path portFile, int eventLoops,
      Duration drainTimeout, long maxRequestBytes, boolean insecureBind) {
    public static final String DEFAULT_HOST = "127.0.0.1";

    /** Whether the gRPC port is reachable only from this host. */
    public boolean loopback() {
      return isLoopback(host);
    }
    public static final int DEFAULT_GRPC_PORT = 50051;
    public static final int DEFAULT_HTTP_PORT = 9464;
    public static final int DEFAULT_OPENAI_PORT = -1;
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
   * @param chatTemplate the operator's chat template (a built-in name or a template file), used instead of the
   *     package's own; null to use the package's
   */
  public record Model(String name, Path path, Reference reference, String variant, boolean pin, int maxConcurrent, int maxQueued, boolean preload,
      String chatTemplate) {
    /** What a model name may be: letters, digits and . _ -, up to 128 (names appear in metric attributes and file names). */
    public static final java.util.regex.Pattern NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");

    public Model {
      Objects.requireNonNull(name, "name");
      if ((path == null) == (reference == null)) {
        throw new IllegalArgumentException("model " + name + ": give exactly one of path and reference");
      }
    }

    /** A model with the package's own chat template. */
    public Model(String name, Path path, Reference reference, String variant, boolean pin, int maxConcurrent, int maxQueued, boolean preload) {
      this(name, path, reference, variant, pin, maxConcurrent, maxQueued, preload, null);
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
    return ConfigLoader.load(sources);
  }

  /** The merged raw values with their origins (for {@code --print-config}); not validated. */
  public static String render(ConfigSources sources) {
    return ConfigLoader.render(sources);
  }

  /** Every key with its meaning, default and environment variable. */
  public static String describe() {
    return ConfigKeys.describe();
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

  /** The registry a hub reference names, HOST[:PORT]; for an OCI layout, "oci:" and its directory. */
  public static String registryOf(Reference r) {
    return r instanceof Reference.Registry reg ? reg.authority()
        : "oci:" + ((Reference.Layout) r).path().toAbsolutePath().normalize();
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
}
