package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.ConfigException;
import dev.edgelm.daemon.Daemon;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.DaemonRuntime;
import dev.edgelm.daemon.Scheduler;
import dev.edgelm.proto.v1.GenerationGrpcService;
import io.vertx.core.Vertx;
import io.vertx.core.VertxOptions;
import io.vertx.core.http.ClientAuth;
import io.vertx.core.http.HttpServer;
import io.vertx.core.http.HttpServerOptions;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.vertx.grpc.reflection.ReflectionService;
import io.vertx.grpc.server.GrpcServer;
import io.vertx.grpc.server.GrpcServerOptions;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The {@link Daemon} implementation: wires Vert.x, the gRPC services, the HTTP endpoints, the model
 * registry, the decode workers and telemetry, and runs the drain.
 *
 * <p>Threads: {@code server.event_loops} Vert.x event loops (network only), {@code generation.workers}
 * decode workers (the only threads that run ONNX Runtime), one loader, two hub threads, one cache
 * thread, and one drain thread at shutdown. The decode workers' queue holds at most one step per
 * admitted generation, so it is bounded by the models' {@code max_concurrent}.
 */
final class DaemonServer implements Daemon {
  private static final Logger LOG = Logger.getLogger(DaemonServer.class.getName());
  private static final Duration CANCEL_GRACE = Duration.ofSeconds(10);
  private static final List<String> SERVICES = List.of("", GenerationGrpcService.SERVICE_NAME.fullyQualifiedName(),
      ModelsService.NAME.fullyQualifiedName(), HealthService.NAME.fullyQualifiedName(), "grpc.reflection.v1.ServerReflection");

  private final DaemonConfig config;
  private final Vertx vertx;
  private final Telemetry telemetry;
  private final ModelRegistry registry;
  private final ThreadPoolExecutor decodeWorkers;
  private final ActiveStreams streams;
  private final DrainState drainState;
  private final HealthService health;
  private final CompletableFuture<Void> terminated = new CompletableFuture<>();
  private final AtomicBoolean draining = new AtomicBoolean();
  private HttpServer grpcServer;
  private HttpServer httpServer;
  private HttpServer openaiServer;

  private DaemonServer(DaemonConfig config, DaemonRuntime runtime) {
    this.config = config;
    this.vertx = Vertx.vertx(new VertxOptions().setEventLoopPoolSize(config.server().eventLoops()).setWorkerPoolSize(2));
    this.streams = new ActiveStreams();
    this.drainState = new DrainState();
    DaemonGauges gauges = new DaemonGauges(streams);
    this.telemetry = Telemetry.create(config.telemetry(), runtime.spanExporter(), gauges);
    this.registry = new ModelRegistry(config, runtime, telemetry);
    gauges.registry(registry);
    int workers = config.generation().workers();
    this.decodeWorkers = new ThreadPoolExecutor(workers, workers, 0, TimeUnit.SECONDS, new LinkedBlockingQueue<>(),
        RegistryThreads.threads("edgelm-decode"));
    this.health = new HealthService(this::status, SERVICES);
    registry.onStateChange(health::refresh);
  }

  /** Starts a daemon: binds its ports (blocking), then loads the preloaded models in the background. */
  public static Daemon start(DaemonConfig config, DaemonRuntime runtime) {
    config.requireSafeBind();
    if (config.models().stream().anyMatch(DaemonConfig.Model::fromHub)) {
      HubModels.trustedKeys(config.hub()); // fail now on an unreadable key file
    }
    DaemonServer d = new DaemonServer(config, runtime);
    try {
      d.listen(runtime);
    } catch (RuntimeException e) {
      d.stopQuietly();
      throw e;
    }
    d.registry.preloadAll();
    return d;
  }

  private void listen(DaemonRuntime runtime) {
    // Deadlines and stall timers run on Vert.x timers unless a test injects its own scheduler.
    Scheduler streamTimers = runtime.scheduler().orElse((task, delay) -> {
      long id = vertx.setTimer(Math.max(1, delay.toMillis()), t -> task.run());
      return () -> vertx.cancelTimer(id);
    });
    Generations generations = new Generations(registry, decodeWorkers, telemetry, config.generation(), runtime.ticker(), streamTimers,
        streams, drainState);
    GenerateService generate = new GenerateService(generations, config.server().maxRequestBytes());
    ModelsService models = new ModelsService(registry, config, drainState);
    GrpcServer grpc = GrpcServer.server(vertx, new GrpcServerOptions().setMaxMessageSize(config.server().maxRequestBytes()));
    grpc.addService(generate.service());
    grpc.addService(models.service());
    grpc.addService(health.service());
    grpc.addService(ReflectionService.v1());
    ApiKeys keys = new ApiKeys(config.auth().apiKeys());
    grpcServer = vertx.createHttpServer(tlsOptions().setHttp2ClearTextEnabled(true)).requestHandler(new ApiKeyGate(keys, grpc, telemetry::authRejected));
    await(grpcServer.listen(config.server().grpcPort(), config.server().host()), "server.grpc_port",
        "cannot listen for gRPC on " + config.server().host() + ":" + config.server().grpcPort());
    if (config.server().openaiPort() >= 0) {
      OpenAiApi openai = new OpenAiApi(vertx, generations, keys, telemetry::authRejected, config.server().maxRequestBytes(), this::notReadyReason,
          java.time.Clock.systemUTC());
      openaiServer = vertx.createHttpServer(tlsOptions()).requestHandler(openai.router());
      await(openaiServer.listen(config.server().openaiPort(), config.server().host()), "server.openai_port",
          "cannot listen for the OpenAI API on " + config.server().host() + ":" + config.server().openaiPort());
    }
    if (config.server().httpPort() >= 0) {
      httpServer = vertx.createHttpServer(new HttpServerOptions())
          .requestHandler(new HttpEndpoints(vertx, telemetry, this::notReadyReason));
      await(httpServer.listen(config.server().httpPort(), config.server().httpHost()), "server.http_port",
          "cannot listen for HTTP on " + config.server().httpHost() + ":" + config.server().httpPort());
    }
    writePortFile();
    if (!config.server().loopback() && !config.auth().enabled() && !config.tls().mutual()) {
      LOG.warning(() -> "INSECURE: gRPC on " + config.server().host() + " is open to every host that can reach it, with no API keys "
          + "and no mutual TLS (started with --insecure-bind): anyone there can generate"
          + (config.api().allowNewModels() ? ", load models from this host's files and make it pull from hubs" : ""));
    }
    LOG.info(() -> "edgelmd listening: gRPC " + config.server().host() + ":" + grpcPort()
        + (config.tls().enabled() ? (config.tls().mutual() ? " (mutual TLS)" : " (TLS)") : " (plaintext)")
        + (config.auth().enabled() ? ", API keys required" : "")
        + (openaiServer != null ? ", OpenAI API " + config.server().host() + ":" + openaiPort() + " (/v1)" : "")
        + (httpServer != null ? ", HTTP " + config.server().httpHost() + ":" + httpPort() + " (/metrics /healthz /readyz)" : "")
        + "; models: " + String.join(", ", config.models().stream().map(DaemonConfig.Model::name).toList()));
  }

  /** The gRPC port's TLS (mutual when configured), which the OpenAI API's port shares. */
  private HttpServerOptions tlsOptions() {
    HttpServerOptions o = new HttpServerOptions();
    DaemonConfig.Tls tls = config.tls();
    if (tls.enabled()) {
      o.setSsl(true).setUseAlpn(true)
          .setKeyCertOptions(new PemKeyCertOptions().setCertPath(tls.certFile().toString()).setKeyPath(tls.keyFile().toString()));
      if (tls.mutual()) {
        o.setClientAuth(ClientAuth.REQUIRED).setTrustOptions(new PemTrustOptions().addCertPath(tls.clientCaFile().toString()));
      }
    }
    return o;
  }

  private static <T> T await(io.vertx.core.Future<T> f, String key, String what) {
    try {
      return f.toCompletionStage().toCompletableFuture().get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      Throwable c = e.getCause();
      String why = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage();
      throw new ConfigException(key, what + ": " + why.strip().replaceAll("\\s*\\R\\s*", "; "));
    } catch (TimeoutException e) {
      throw new ConfigException(key, what + ": timed out");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new ConfigException(key, what + ": interrupted");
    }
  }

  private void writePortFile() {
    Path file = config.server().portFile();
    if (file == null) {
      return;
    }
    String text = "grpc_port=" + grpcPort() + "\nhttp_port=" + httpPort() + "\nopenai_port=" + openaiPort() + "\n";
    try {
      Path abs = file.toAbsolutePath();
      if (abs.getParent() != null) {
        Files.createDirectories(abs.getParent());
      }
      Path tmp = abs.resolveSibling(abs.getFileName() + ".tmp");
      Files.writeString(tmp, text, StandardCharsets.UTF_8);
      Files.move(tmp, abs, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new ConfigException("server.port_file", "cannot write " + file + ": " + e.getMessage());
    }
  }

  /** The health status of {@code service}, null for a name the daemon does not serve. */
  private ServingStatus status(String service) {
    if (!SERVICES.contains(service)) {
      return null;
    }
    if (drainState.draining()) {
      return ServingStatus.NOT_SERVING;
    }
    boolean generation = service.isEmpty() || service.equals(GenerationGrpcService.SERVICE_NAME.fullyQualifiedName());
    return !generation || registry.preloadsReady() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  }

  private String notReadyReason() {
    if (drainState.draining()) {
      return "draining";
    }
    List<String> waiting = new ArrayList<>();
    for (ServedModel sm : registry.all()) {
      ServedState s = sm.state();
      if (sm.configured && sm.preload && !s.everLoaded()) {
        Throwable f = s.lastFailure();
        waiting.add(sm.name + " (" + s.status().name().substring("MODEL_STATE_".length()).toLowerCase(java.util.Locale.ROOT)
            + (f != null ? ": " + StatusMapper.map(f).message() : "") + ")");
      }
    }
    return waiting.isEmpty() ? null : "waiting for " + String.join(", ", waiting);
  }

  @Override
  public int grpcPort() {
    return grpcServer.actualPort();
  }

  @Override
  public int openaiPort() {
    return openaiServer == null ? -1 : openaiServer.actualPort();
  }

  @Override
  public int httpPort() {
    return httpServer == null ? -1 : httpServer.actualPort();
  }

  @Override
  public boolean ready() {
    return !drainState.draining() && registry.preloadsReady();
  }

  @Override
  public CompletableFuture<Void> drain() {
    if (draining.compareAndSet(false, true)) {
      drainState.start();
      health.refresh();
      Thread t = new Thread(this::drainAndStop, "edgelm-drain");
      t.setDaemon(false);
      t.start();
    }
    return terminated;
  }

  private void drainAndStop() {
    try {
      int n = streams.size();
      LOG.info(() -> "draining: " + n + " streams in progress; waiting up to " + config.server().drainTimeout().toMillis() + " ms");
      if (!streams.awaitEmpty(config.server().drainTimeout())) {
        List<GenerationStream<?>> left = streams.snapshot();
        LOG.info(() -> "drain timeout: cancelling " + left.size() + " streams");
        for (GenerationStream<?> c : left) {
          c.drainCancel();
        }
        if (!streams.awaitEmpty(CANCEL_GRACE)) {
          LOG.warning(() -> streams.size() + " streams did not end within " + CANCEL_GRACE.toSeconds() + " s of being cancelled");
        }
      }
      stopQuietly();
      LOG.info("edgelmd stopped");
      terminated.complete(null);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      stopQuietly();
      terminated.completeExceptionally(e);
    } catch (RuntimeException | Error e) {
      LOG.log(Level.SEVERE, "drain failed", e);
      stopQuietly();
      terminated.completeExceptionally(e);
    }
  }

  private void stopQuietly() {
    drainState.start();
    try {
      if (grpcServer != null) {
        // Graceful: GOAWAY, then up to 10 s for the last responses to reach their readers.
        grpcServer.shutdown(10, TimeUnit.SECONDS).toCompletionStage().toCompletableFuture().get(15, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      LOG.log(Level.FINE, "gRPC server shutdown", e);
    }
    try {
      if (openaiServer != null) {
        openaiServer.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      LOG.log(Level.FINE, "OpenAI API server close", e);
    }
    try {
      if (httpServer != null) {
        httpServer.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      }
    } catch (Exception e) {
      LOG.log(Level.FINE, "HTTP server close", e);
    }
    decodeWorkers.shutdown();
    try {
      decodeWorkers.awaitTermination(10, TimeUnit.SECONDS);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
    registry.close();
    telemetry.close();
    try {
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      LOG.log(Level.FINE, "Vert.x close", e);
    }
  }

  @Override
  public CompletableFuture<Void> terminated() {
    return terminated;
  }

  @Override
  public void close() {
    drain().join();
  }

  /** For tests: the registry's pending cache maintenance (expiry with a fake ticker). */
  void cleanUpCache() {
    registry.cleanUp();
  }
}
