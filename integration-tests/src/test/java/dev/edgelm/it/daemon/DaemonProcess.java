package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.fail;

import dev.edgelm.engine.testing.SharedAssets;
import io.grpc.ManagedChannel;
import io.grpc.netty.shaded.io.grpc.netty.NettyChannelBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code edgelmd} as a separate OS process on 127.0.0.1, run the way the {@code ./edgelmd} launcher
 * runs it: {@code daemon/target/edgelm-daemon.jar} with {@code daemon/target/lib/*} (no compressor,
 * no CLI on its class path). Ports are picked by the OS and read from the daemon's port file; output
 * goes to a log file that failures quote.
 */
final class DaemonProcess implements AutoCloseable {
  private final Process process;
  private final Path log;
  private final int grpcPort;
  private final int httpPort;
  private final int openaiPort;
  private final HttpClient http = HttpClient.newHttpClient();

  private DaemonProcess(Process process, Path log, int grpcPort, int httpPort, int openaiPort) {
    this.process = process;
    this.log = log;
    this.grpcPort = grpcPort;
    this.httpPort = httpPort;
    this.openaiPort = openaiPort;
  }

  /** Starts {@code edgelmd --config config --set server.port_file=...} and waits until its ports are bound. */
  static DaemonProcess start(Path config, Path workDir) throws IOException {
    return start(workDir, "--config", config.toString());
  }

  /** Starts {@code edgelmd args --set server.port_file=...} (the flags of {@code ./edgelm serve}) and waits until its ports are bound. */
  static DaemonProcess start(Path workDir, String... args) throws IOException {
    Files.createDirectories(workDir);
    Path ports = workDir.resolve("ports");
    Files.deleteIfExists(ports);
    Path log = workDir.resolve("edgelmd.log");
    List<String> all = new ArrayList<>(List.of(args));
    all.addAll(List.of("--set", "server.port_file=" + ports));
    Process p = launch(log, all.toArray(String[]::new));
    Await.until("edgelmd writes its port file (log " + log + ")", () -> {
      if (!p.isAlive()) {
        fail("edgelmd exited with " + p.exitValue() + ":\n" + read(log));
      }
      return Files.isRegularFile(ports);
    });
    Properties props = new Properties();
    try (var in = Files.newInputStream(ports)) {
      props.load(in);
    }
    return new DaemonProcess(p, log, Integer.parseInt(props.getProperty("grpc_port")), Integer.parseInt(props.getProperty("http_port")),
        Integer.parseInt(props.getProperty("openai_port", "-1")));
  }

  /** What an {@code edgelmd ARGS} run that is expected to exit by itself printed, and its status. */
  record Exit(int status, String log) {}

  /** Runs {@code edgelmd args} to its exit (for starts that must be refused). */
  static Exit runToExit(Path workDir, String... args) throws IOException, InterruptedException {
    Files.createDirectories(workDir);
    Path log = workDir.resolve("edgelmd-exit.log");
    Process p = launch(log, args);
    if (!p.waitFor(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
      p.destroyForcibly();
      fail("edgelmd " + String.join(" ", args) + " did not exit; log:\n" + read(log));
    }
    return new Exit(p.exitValue(), read(log));
  }

  private static Process launch(Path log, String... args) throws IOException {
    Path root = SharedAssets.repositoryRoot();
    Path jar = root.resolve("daemon/target/edgelm-daemon.jar");
    Path lib = root.resolve("daemon/target/lib");
    if (!Files.isRegularFile(jar) || !Files.isDirectory(lib)) {
      fail("run the ITs through Maven (mvn -pl integration-tests -am verify): " + jar + " and " + lib + " are built at package");
    }
    List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx512m",
        "-cp", jar + java.io.File.pathSeparator + lib + "/*", "dev.edgelm.daemon.Edgelmd"));
    cmd.addAll(List.of(args));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile());
    pb.environment().put("ORT_DISABLE_TELEMETRY", "1");
    return pb.start();
  }

  int grpcPort() {
    return grpcPort;
  }

  /** The port of the OpenAI-compatible HTTP API, -1 when it is off. */
  int openaiPort() {
    return openaiPort;
  }

  long pid() {
    return process.pid();
  }

  /**
   * The daemon's heap in use right after a full collection, in bytes: {@code jcmd PID GC.run} (a
   * System.gc() in the daemon), then {@code jcmd PID GC.heap_info}'s "used" figure of the whole heap.
   */
  long heapUsedAfterGc() throws IOException, InterruptedException {
    jcmd("GC.run");
    String info = jcmd("GC.heap_info");
    Matcher m = Pattern.compile("total \\d+K, used (\\d+)K").matcher(info);
    if (!m.find()) {
      fail("cannot read the heap from jcmd GC.heap_info:\n" + info);
    }
    return Long.parseLong(m.group(1)) * 1024;
  }

  private String jcmd(String command) throws IOException, InterruptedException {
    Process p = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "jcmd").toString(), Long.toString(process.pid()), command)
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    if (!p.waitFor(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS) || p.exitValue() != 0) {
      fail("jcmd " + command + " failed: " + out);
    }
    return out;
  }

  /** A grpc-java channel to the daemon; {@code window} is the HTTP/2 receive window in bytes (0 = grpc-java's default). */
  ManagedChannel channel(int window) {
    NettyChannelBuilder b = NettyChannelBuilder.forAddress("127.0.0.1", grpcPort).usePlaintext();
    if (window > 0) {
      b.flowControlWindow(window);
    }
    return b.build();
  }

  HttpResponse<String> get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + httpPort + path)).build(), HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  String metrics() {
    return get("/metrics").body();
  }

  /** The first sample named {@code name} whose labels contain {@code labels}; 0 when absent. */
  double metric(String name, String labels) {
    return metricValue(metrics(), name, labels);
  }

  static double metricValue(String scrape, String name, String labels) {
    Matcher m = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})?\\s+(\\S+)$", Pattern.MULTILINE).matcher(scrape);
    while (m.find()) {
      if ((m.group(1) == null ? "" : m.group(1)).contains(labels)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return 0;
  }

  /** Sends SIGTERM (what systemd and Kubernetes send to stop a service). */
  void sigterm() {
    process.destroy();
  }

  /** Waits for the process to exit and returns its status. */
  int awaitExit() throws InterruptedException {
    if (!process.waitFor(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
      fail("edgelmd did not exit; log:\n" + log());
    }
    return process.exitValue();
  }

  String log() {
    return read(log);
  }

  private static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(cannot read " + p + ": " + e.getMessage() + ")";
    }
  }

  @Override
  public void close() {
    if (process.isAlive()) {
      process.destroyForcibly();
      try {
        process.waitFor(30, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }
}
