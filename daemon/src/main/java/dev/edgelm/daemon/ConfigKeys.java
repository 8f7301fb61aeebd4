package dev.edgelm.daemon;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;

/**
 * Every configuration key the daemon reads, with its default and meaning: the single table behind
 * loading, validation and {@code --describe-config}.
 *
 * <p>Fixed keys are {@code section.name}; each also reads the environment variable
 * {@code EDGELMD_SECTION_NAME}. Per-model keys are {@code models.<name>.<property>} (file and
 * flags only: model names do not map to environment variable names reliably).
 */
final class ConfigKeys {
  /** Prefix of the environment variables that set keys. */
  public static final String ENV_PREFIX = "EDGELMD_";

  /** Environment variables with the prefix that are not keys (read by the launcher script). */
  static final List<String> ENV_NOT_KEYS = List.of("EDGELMD_JAVA_OPTS", "EDGELMD_NO_BUILD", "EDGELMD_DEBUG");

  /** One key. */
  public record Key(String name, String defaultValue, String description) {
    /** The environment variable that sets it. */
    public String envVar() {
      return ENV_PREFIX + name.replace('.', '_').toUpperCase(Locale.ROOT);
    }
  }

  /** One property of a {@code models.<name>} entry. */
  public record ModelProperty(String name, String defaultValue, String description) {}

  private static final Map<String, Key> KEYS = new LinkedHashMap<>();
  private static final Map<String, ModelProperty> MODEL_PROPERTIES = new LinkedHashMap<>();

  static {
    key("server.host", DaemonConfig.Server.DEFAULT_HOST,
        "Address the gRPC port binds to. Loopback by default; set 0.0.0.0 (with TLS and API keys) to serve other hosts.");
    key("server.grpc_port", DaemonConfig.Server.DEFAULT_GRPC_PORT, "gRPC port (0 picks a free port; see server.port_file).");
    key("server.http_port", DaemonConfig.Server.DEFAULT_HTTP_PORT,
        "HTTP port for /metrics (Prometheus), /healthz and /readyz (0 picks a free port, -1 turns it off). Not authenticated: keep it on loopback or firewall it.");
    key("server.http_host", DaemonConfig.Server.DEFAULT_HOST,
        "Address of the HTTP port (metrics, health): loopback unless set, whatever server.host is.");
    key("server.openai_port", DaemonConfig.Server.DEFAULT_OPENAI_PORT,
        "OpenAI-compatible HTTP API (/v1/models, /v1/completions, /v1/chat/completions, /health) on server.host, with the gRPC port's "
        + "TLS and API keys (Authorization: Bearer KEY); 0 picks a free port, -1 turns it off. See docs/API.md.");
    key("server.insecure_bind", "false", "Start on a server.host other hosts can reach without auth.api_keys or mutual TLS "
        + "(logged as a warning); without it such a start is refused (flag --insecure-bind).");
    key("server.port_file", "", "File to write the bound ports to once listening, as lines grpc_port=N and http_port=N (for ports picked with 0).");
    key("server.event_loops", DaemonConfig.Server.DEFAULT_EVENT_LOOPS, "Vert.x event-loop threads (network I/O only; decoding runs on generation.workers).");
    key("server.drain_timeout", DaemonConfig.Server.DEFAULT_DRAIN_TIMEOUT,
        "On SIGTERM/SIGINT: how long in-flight streams may run before they are cancelled (they end with finish reason CANCELLED).");
    key("server.max_request_bytes", DaemonConfig.Server.DEFAULT_MAX_REQUEST_BYTES, "Largest request message accepted.");
    key("tls.cert_file", "", "PEM certificate chain of the gRPC port. With tls.key_file, turns TLS on.");
    key("tls.key_file", "", "PEM private key (PKCS#8) of tls.cert_file.");
    key("tls.client_ca_file", "", "PEM CA certificates; when set, clients must present a certificate they signed (mutual TLS).");
    key("auth.api_keys", "", "Comma-separated API keys. Once any key is configured every call but grpc.health.v1 needs one, "
        + "as metadata 'authorization: Bearer KEY' or 'x-api-key: KEY' (prefer the environment variable to a file on disk).");
    key("auth.api_keys_file", "", "File with one API key per line (blank lines and # comments ignored); adds to auth.api_keys.");
    key("generation.workers", DaemonConfig.Limits.DEFAULT_WORKERS,
        "Threads that run decode steps for all models (0 = one per CPU). Streams take turns step by step.");
    key("generation.max_concurrent", DaemonConfig.Limits.DEFAULT_MAX_CONCURRENT, "Default for models.<name>.max_concurrent: generations that run at once per model.");
    key("generation.max_queued", DaemonConfig.Limits.DEFAULT_MAX_QUEUED,
        "Default for models.<name>.max_queued: generations that may wait for a slot per model; past it, RESOURCE_EXHAUSTED.");
    key("generation.default_max_tokens", DaemonConfig.Limits.DEFAULT_DEFAULT_MAX_TOKENS, "max_tokens of a request that sets 0.");
    key("generation.max_context", DaemonConfig.Limits.DEFAULT_MAX_CONTEXT,
        "Caps the tokens (prompt + output) of one generation below the model's context length (0 = the model's); also sizes the KV budget.");
    key("generation.max_buffered_messages", DaemonConfig.Limits.DEFAULT_MAX_BUFFERED_MESSAGES,
        "Per stream: response messages produced but not yet sent to the network before decoding pauses for a slow reader.");
    key("generation.stall_timeout", DaemonConfig.Limits.DEFAULT_STALL_TIMEOUT,
        "A stream paused this long for a reader that takes no message is cancelled (RST_STREAM) and its slot freed (0 = never).");
    key("runtime.intra_op_threads", DaemonConfig.Runtime.DEFAULT_INTRA_OP_THREADS, "ONNX Runtime threads inside one step (1 is fastest on small hosts).");
    key("runtime.execution_provider", DaemonConfig.Runtime.DEFAULT_EXECUTION_PROVIDER, "cpu or cuda.");
    key("cache.memory_budget", DaemonConfig.Cache.DEFAULT_MEMORY_BUDGET,
        "Memory for loaded models (weights + KV budget), in bytes (512MiB, 4GiB) or percent of physical memory (50%). Idle models are evicted past it.");
    key("cache.keep_alive", DaemonConfig.Cache.DEFAULT_KEEP_ALIVE, "Unpinned models unused this long are unloaded (0 = never).");
    key("api.allow_new_models", "",
        "Whether Models.Load and Models.Pull may add models the configuration does not name (default: true on a loopback "
            + "server.host, false otherwise).");
    key("api.load_roots", "", "Comma-separated directories Models.Load may read packages from, and Models.Pull oci: layouts "
        + "(default: anywhere on a loopback server.host, nowhere otherwise).");
    key("api.pull_registries", "", "Comma-separated registries (HOST[:PORT]) Models.Pull may pull new references from "
        + "(default: any on a loopback server.host, otherwise only the registries of the configured models).");
    key("hub.store", "", "Local store for pulled models (default: $XDG_DATA_HOME/edgelm/store, else ~/.local/share/edgelm/store).");
    key("hub.offline", "false", "Never contact a hub; serve only what the store holds.");
    key("hub.verify", "", "Release signature policy: require, warn or off (default: require when hub.trusted_keys is set, else warn).");
    key("hub.trusted_keys", "", "Comma-separated PEM Ed25519 public key files trusted for release signatures.");
    key("hub.plain_http", "false", "Use plain HTTP for registries (always the case for loopback registries).");
    key("hub.ca_file", "", "PEM CA certificates trusted for HTTPS registries.");
    key("hub.username", "", "Registry user name.");
    key("hub.password", "", "Registry password (set it with EDGELMD_HUB_PASSWORD rather than in a file).");
    key("hub.poll_interval", DaemonConfig.HubAccess.DEFAULT_POLL_INTERVAL,
        "How often a model whose ref names a tag (e.g. :stable) checks whether the tag moved; a new release is selected from, "
        + "pulled, loaded and warmed, then new streams go to it while the old variant drains (0 = never; refs pinned by digest never move).");
    key("host.arch", "", "Override the probed CPU architecture: x86_64 or aarch64 (for fleets and simulations; see docs/DEPLOY.md).");
    key("host.cpu_features", "", "Override the probed CPU features, comma-separated canonical names (avx2, avx512f, avx512_vnni, avx_vnni, "
        + "amx_int8, asimd, dotprod, i8mm, sve…), or none.");
    key("host.cores", "", "Override the CPUs this process may use.");
    key("host.memory", "", "Override the usable memory (probed: min of MemAvailable and the cgroup limit less its usage), e.g. 2GiB.");
    key("host.execution_providers", "", "Override the ONNX Runtime build's execution providers, e.g. cpu,cuda (cpu is always added).");
    key("host.onnxruntime_version", "", "Override the ONNX Runtime version variants are checked against, e.g. 1.17.0.");
    key("host.gpu_memory", "", "Declare one GPU with this much free memory (replaces what nvidia-smi/rocm-smi report), e.g. 8GiB.");
    key("host.memory_bandwidth", "", "Override the measured memory bandwidth (single-thread copy), bytes/s, e.g. 20GiB/s.");
    key("host.gpu_memory_bandwidth", "", "GPU memory bandwidth, bytes/s (not probed; 300 GB/s assumed), e.g. 900GiB/s.");
    key("host.measure_bandwidth", "true", "Measure memory bandwidth once per hardware (a ~0.3 s copy, cached in host.cache_dir); false assumes 10 GB/s.");
    key("host.cache_dir", "", "Where bandwidth and on-device benchmark results are cached (default: $XDG_CACHE_HOME/edgelm, else ~/.cache/edgelm).");
    key("select.max_perplexity_ratio", SelectionPolicy.DEFAULT_MAX_PERPLEXITY_RATIO,
        "Quality floor: variants whose measured perplexity exceeds the base's by more than this ratio are rejected (0 = no floor; unmeasured variants pass).");
    key("select.memory_overhead", SelectionPolicy.DEFAULT_MEMORY_OVERHEAD,
        "Memory added to every variant's need (weights + KV cache at generation.max_context x max_concurrent) besides 10% of its weights.");
    key("select.speed_tolerance", SelectionPolicy.DEFAULT_SPEED_TOLERANCE,
        "Variants predicted within this fraction of the fastest count as equally fast; the best quality among them is chosen.");
    key("select.benchmark_top", SelectionPolicy.DEFAULT_BENCHMARK_TOP,
        "Decode a few tokens with this many top-ranked variants on this host before choosing (downloads their weights; results cached per "
        + "hardware and variant digest in host.cache_dir). 0 = choose from predictions alone.");
    key("select.benchmark_tokens", SelectionPolicy.DEFAULT_BENCHMARK_TOKENS, "Tokens each on-device benchmark decodes.");
    key("telemetry.otlp_endpoint", "", "OTLP collector for metrics and traces, e.g. http://127.0.0.1:4318 (empty = no export; /metrics always works).");
    key("telemetry.otlp_protocol", DaemonConfig.Telemetry.DEFAULT_OTLP_PROTOCOL, "http/protobuf or grpc.");
    key("telemetry.service_name", DaemonConfig.Telemetry.DEFAULT_SERVICE_NAME, "service.name resource attribute.");
    key("telemetry.metric_export_interval", DaemonConfig.Telemetry.DEFAULT_METRIC_EXPORT_INTERVAL, "How often metrics are pushed over OTLP.");
    key("telemetry.trace_sample_ratio", DaemonConfig.Telemetry.DEFAULT_TRACE_SAMPLE_RATIO,
        "Fraction of requests traced (parent-based: a sampled traceparent in the request metadata is always followed).");

    model("path", "", "Model package directory. Give exactly one of path and ref.");
    model("ref", "", "Hub reference HOST[:PORT]/REPO:TAG or oci:PATH:TAG, pulled into hub.store at start.");
    model("variant", "", "Pin a variant id of the release (with ref). Unset: the daemon selects the variant that runs best on this host.");
    model("pin", "false", "Never evict or expire this model.");
    model("preload", "true", "Load at start; health stays NOT_SERVING until every preloaded model is loaded.");
    model("max_concurrent", "generation.max_concurrent", "Generations that run at once.");
    model("max_queued", "generation.max_queued", "Generations that may wait for a slot; past it, RESOURCE_EXHAUSTED.");
    model("chat_template", "", "Chat template of /v1/chat/completions: a Jinja template file, or a built-in (chatml, llama2, zephyr). "
        + "Set, it is used instead of the package's own; unset, the package's (from its tokenizer_config.json), and a package "
        + "without one refuses chat (HTTP 400).");
  }

  private ConfigKeys() {}

  private static void key(String name, Object defaultValue, String description) {
    KEYS.put(name, new Key(name, String.valueOf(defaultValue), description));
  }

  private static void model(String name, String defaultValue, String description) {
    MODEL_PROPERTIES.put(name, new ModelProperty(name, defaultValue, description));
  }

  public static List<Key> keys() {
    return List.copyOf(KEYS.values());
  }

  public static Optional<Key> key(String name) {
    return Optional.ofNullable(KEYS.get(name));
  }

  public static List<ModelProperty> modelProperties() {
    return List.copyOf(MODEL_PROPERTIES.values());
  }

  static boolean isModelProperty(String property) {
    return MODEL_PROPERTIES.containsKey(property);
  }

  /** Keys whose values are secrets: never printed. */
  static boolean isSecret(String key) {
    return key.equals("auth.api_keys") || key.equals("hub.password");
  }

  /** Fixed keys whose names are closest to {@code name}, for "did you mean". */
  static List<String> suggestions(String name) {
    List<String> out = new ArrayList<>();
    for (String k : KEYS.keySet()) {
      if (distance(k, name) <= 3) {
        out.add(k);
      }
    }
    Collections.sort(out);
    return out;
  }

  private static int distance(String a, String b) {
    int[] prev = new int[b.length() + 1];
    int[] cur = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      prev[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      cur[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
        cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
      }
      int[] t = prev;
      prev = cur;
      cur = t;
    }
    return prev[b.length()];
  }

  /** The text {@code --describe-config} prints: every key, its environment variable, default and meaning. */
  public static String describe() {
    StringBuilder s = new StringBuilder();
    s.append("Configuration keys, read in this order (later wins): defaults, the --config file (YAML or JSON,\n")
        .append("nested sections or dotted keys), environment variables, flags (--set KEY=VALUE and the shortcuts).\n")
        .append("Durations: 250ms, 30s, 5m, 1h. Sizes: bytes, or with KiB/MiB/GiB (also K/M/G). Lists: comma-separated or YAML lists.\n\n");
    String section = "";
    for (Key k : KEYS.values()) {
      String sec = k.name().substring(0, k.name().indexOf('.'));
      if (!sec.equals(section)) {
        section = sec;
        s.append('[').append(sec).append("]\n");
      }
      s.append("  ").append(k.name()).append("  (default: ").append(k.defaultValue().isEmpty() ? "unset" : k.defaultValue())
          .append("; env ").append(k.envVar()).append(")\n");
      s.append("      ").append(k.description()).append('\n');
    }
    s.append("[models]  one entry per served model, models.<name>.<property> (file and flags; --model [NAME=]DIR adds path):\n");
    for (ModelProperty p : MODEL_PROPERTIES.values()) {
      s.append("  models.<name>.").append(p.name()).append("  (default: ").append(p.defaultValue().isEmpty() ? "unset" : p.defaultValue())
          .append(")\n");
      s.append("      ").append(p.description()).append('\n');
    }
    return s.toString();
  }
}
