package dev.edgelm.daemon;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * The command-line options of {@code edgelmd} and {@code edgelm serve} (a picocli mixin, so both
 * commands take exactly the same flags), and {@link #run} which serves until SIGTERM or SIGINT.
 *
 * <p>Flags are the last configuration layer: {@code --set KEY=VALUE} sets any key, and the
 * shortcuts {@code --port}, {@code --http-port}, {@code --openai-port}, {@code --host}, {@code --insecure-bind} and {@code --model [NAME=]DIR} set
 * the obvious ones. Not thread-safe (picocli fills it once).
 */
public final class ServeOptions {
  @Option(names = "--config", paramLabel = "FILE", description = "YAML or JSON configuration file (see --describe-config).")
  Path config;

  @Option(names = "--model", paramLabel = "[NAME=]DIR",
      description = "Serve the model package in DIR, under NAME (default: DIR's name). Repeatable; works without --config.")
  List<String> models = new ArrayList<>();

  @Option(names = "--port", paramLabel = "N", description = "gRPC port (server.grpc_port; 0 picks a free one).")
  Integer port;

  @Option(names = "--http-port", paramLabel = "N", description = "HTTP port for /metrics, /healthz, /readyz (server.http_port; -1 turns it off).")
  Integer httpPort;

  @Option(names = "--openai-port", paramLabel = "N",
      description = "Port of the OpenAI-compatible HTTP API on --host (server.openai_port; 0 picks a free one; off unless set).")
  Integer openaiPort;

  @Option(names = "--host", paramLabel = "ADDR", description = "Address to bind (server.host; default 127.0.0.1).")
  String host;

  @Option(names = "--insecure-bind", description = "Serve a --host other hosts can reach without API keys or mutual TLS "
      + "(server.insecure_bind); refused otherwise.")
  boolean insecureBind;

  @Option(names = "--set", paramLabel = "KEY=VALUE", description = "Set any configuration key (repeatable), e.g. --set generation.max_concurrent=8.")
  List<String> sets = new ArrayList<>();

  @Option(names = "--describe-config", description = "Print every configuration key with its meaning, default and environment variable, and exit.")
  boolean describeConfig;

  @Option(names = "--print-config", description = "Print the effective configuration (secrets hidden) with where each value came from, and exit.")
  boolean printConfig;

  /**
   * The flag layer of the configuration.
   *
   * @throws ConfigException naming the flag when one is malformed
   */
  public Map<String, String> flags() {
    Map<String, String> out = new LinkedHashMap<>();
    for (String s : sets) {
      int eq = s.indexOf('=');
      if (eq <= 0) {
        throw new ConfigException(null, "--set needs KEY=VALUE, got '" + s + "'");
      }
      out.put(s.substring(0, eq).strip(), s.substring(eq + 1).strip());
    }
    if (port != null) {
      out.put("server.grpc_port", String.valueOf(port));
    }
    if (httpPort != null) {
      out.put("server.http_port", String.valueOf(httpPort));
    }
    if (openaiPort != null) {
      out.put("server.openai_port", String.valueOf(openaiPort));
    }
    if (host != null) {
      out.put("server.host", host);
    }
    if (insecureBind) {
      out.put("server.insecure_bind", "true");
    }
    for (String m : models) {
      int eq = m.indexOf('=');
      String name;
      String dir;
      if (eq > 0 && DaemonConfig.Model.NAME.matcher(m.substring(0, eq)).matches()) {
        name = m.substring(0, eq);
        dir = m.substring(eq + 1);
      } else {
        dir = m;
        Path file = Path.of(m).toAbsolutePath().normalize().getFileName();
        name = file == null ? "" : file.toString();
      }
      if (!DaemonConfig.Model.NAME.matcher(name).matches()) {
        throw new ConfigException(null, "--model " + m + ": '" + name + "' is not a model name (letters, digits, '.', '_', '-'); write --model NAME=DIR");
      }
      out.put("models." + name + ".path", dir);
    }
    return out;
  }

  public DaemonConfig.ConfigSources sources(Map<String, String> environment) {
    return new DaemonConfig.ConfigSources(config, environment, flags());
  }

  /**
   * Does what the options say: describe or print the configuration, or load it, start the daemon
   * and serve until SIGTERM/SIGINT, then drain. Returns the exit status (0 after a clean drain).
   *
   * @throws ConfigException when the configuration is invalid or a port cannot be bound
   */
  public int run(PrintWriter out, PrintWriter err) {
    if (describeConfig) {
      out.print(DaemonConfig.describe());
      out.flush();
      return 0;
    }
    Map<String, String> env = Environment.snapshot();
    DaemonConfig.ConfigSources sources = sources(env);
    if (printConfig) {
      DaemonConfig.load(sources); // validate too
      out.print(DaemonConfig.render(sources));
      out.flush();
      return 0;
    }
    DaemonConfig cfg = DaemonConfig.load(sources);
    if (cfg.models().isEmpty()) {
      err.println("edgelmd: warning: no models configured; give --model DIR or a --config file (Models.Load can add models)");
      err.flush();
    }
    configureLogging();
    Daemon daemon = Daemon.start(cfg);
    Signals.onTermination(daemon::drain, () -> daemon.terminated().join());
    try {
      daemon.terminated().join();
      return 0;
    } catch (RuntimeException e) {
      err.println("edgelmd: error: the drain failed: " + e.getMessage());
      err.flush();
      return 1;
    }
  }

  /** One line per log record, unless the user configured java.util.logging. */
  static void configureLogging() {
    if (System.getProperty("java.util.logging.config.file") == null && System.getProperty("java.util.logging.SimpleFormatter.format") == null) {
      System.setProperty("java.util.logging.SimpleFormatter.format", "%1$tF %1$tT.%1$tL %4$s [%3$s] %5$s%6$s%n");
    }
  }
}
