package dev.edgelm.daemon;

import java.util.concurrent.CompletableFuture;

/**
 * A running edgelm daemon: the gRPC services ({@code edgelm.v1.Generation}, {@code edgelm.v1.Models},
 * {@code grpc.health.v1.Health}, server reflection) and the HTTP port ({@code /metrics},
 * {@code /healthz}, {@code /readyz}).
 *
 * <pre>{@code
 * DaemonConfig config = DaemonConfig.load(new DaemonConfig.ConfigSources(file, System.getenv(), Map.of()));
 * Daemon daemon = Daemon.start(config);       // ports bound; configured models load in the background
 * ...
 * daemon.drain().join();                      // what SIGTERM does: finish or cancel streams, then stop
 * }</pre>
 *
 * <p>Threading: thread-safe. {@link #start} blocks until the ports are bound (not until models are
 * loaded: health reports NOT_SERVING until they are). Errors: {@link #start} throws
 * {@link ConfigException} when a port cannot be bound or a TLS file cannot be used.
 */
public interface Daemon extends AutoCloseable {

  /** Starts a daemon with the default runtime (ONNX Runtime, system clock). */
  static Daemon start(DaemonConfig config) {
    return start(config, DaemonRuntime.DEFAULTS);
  }

  static Daemon start(DaemonConfig config, DaemonRuntime runtime) {
    return Implementation.provider().start(config, runtime);
  }

  /** The bound gRPC port. */
  int grpcPort();

  /** The bound port of the OpenAI-compatible HTTP API, or -1 when it is off. */
  int openaiPort();

  /** The bound HTTP port, or -1 when it is off. */
  int httpPort();

  /** Whether every preloaded model has been loaded and the daemon is not draining (what health reports). */
  boolean ready();

  /**
   * Drains and stops: health turns NOT_SERVING, new calls get UNAVAILABLE, running streams may finish
   * until {@code server.drain_timeout} and are then cancelled (they end with finish reason
   * CANCELLED), then the ports close and models are released. Idempotent; returns
   * {@link #terminated()}.
   */
  CompletableFuture<Void> drain();

  /** Completes once the daemon has stopped. */
  CompletableFuture<Void> terminated();

  /** {@link #drain()} and wait. */
  @Override
  void close();
}
