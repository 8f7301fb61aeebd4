package dev.edgelm.hub.testing;

import java.io.IOException;
import java.net.HttpURLConnection;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A real OCI registry for tests: Debian's {@code docker-registry} (Docker Distribution 2.8),
 * installed with apt-get when missing, started on 127.0.0.1 and a free port with a config of our own
 * (the stock one listens on all interfaces), storage in a directory of the test's, and optionally
 * htpasswd basic auth (users made with {@code htpasswd -B}, from apache2-utils).
 */
public final class RegistryProcess implements AutoCloseable {
  public static final String BINARY = "/usr/bin/docker-registry";

  private final Process process;
  private final int port;
  private final Path dir;

  private RegistryProcess(Process process, int port, Path dir) {
    this.process = process;
    this.port = port;
    this.dir = dir;
  }

  /** Starts an anonymous registry with its files under {@code dir}. */
  public static RegistryProcess start(Path dir) throws IOException {
    return start(dir, null, null);
  }

  /** Starts a registry requiring basic auth for {@code user}/{@code password} (when user is not null). */
  public static RegistryProcess start(Path dir, String user, String password) throws IOException {
    DebianTools.require(BINARY, "docker-registry");
    Files.createDirectories(dir.resolve("data"));
    String auth = "";
    if (user != null) {
      Path htpasswd = DebianTools.require("/usr/bin/htpasswd", "apache2-utils");
      DebianTools.Result r = DebianTools.run(List.of(htpasswd.toString(), "-Bbn", user, password), 60);
      if (r.exit() != 0) {
        throw new IllegalStateException("htpasswd failed: " + r.stderr());
      }
      Files.writeString(dir.resolve("htpasswd"), r.stdout().strip() + "\n");
      auth = "auth:\n  htpasswd:\n    realm: edgelm-test\n    path: " + dir.resolve("htpasswd") + "\n";
    }
    int port = freePort();
    String config = "version: 0.1\n"
        + "log:\n  level: warn\n  accesslog:\n    disabled: true\n"
        + "storage:\n  filesystem:\n    rootdirectory: " + dir.resolve("data") + "\n  delete:\n    enabled: true\n"
        + "http:\n  addr: 127.0.0.1:" + port + "\n  secret: edgelm-test-secret\n"
        + auth;
    Path cfg = dir.resolve("config.yml");
    Files.writeString(cfg, config, StandardCharsets.UTF_8);
    Process p = new ProcessBuilder(BINARY, "serve", cfg.toString())
        .redirectErrorStream(true)
        .redirectOutput(dir.resolve("registry.log").toFile())
        .start();
    RegistryProcess rp = new RegistryProcess(p, port, dir);
    rp.awaitReady(Duration.ofSeconds(60));
    return rp;
  }

  public int port() {
    return port;
  }

  /** {@code 127.0.0.1:<port>}. */
  public String authority() {
    return "127.0.0.1:" + port;
  }

  public Path logFile() {
    return dir.resolve("registry.log");
  }

  private void awaitReady(Duration limit) throws IOException {
    long deadline = System.nanoTime() + limit.toNanos();
    while (System.nanoTime() < deadline) {
      if (!process.isAlive()) {
        throw new IllegalStateException("docker-registry exited with " + process.exitValue() + ": " + Files.readString(logFile()));
      }
      try {
        HttpURLConnection c = (HttpURLConnection) URI.create("http://" + authority() + "/v2/").toURL().openConnection();
        c.setConnectTimeout(1000);
        c.setReadTimeout(1000);
        int s = c.getResponseCode();
        c.disconnect();
        if (s == 200 || s == 401) {
          return;
        }
      } catch (IOException notYet) {
        // Not listening yet.
      }
      try {
        process.waitFor(50, TimeUnit.MILLISECONDS); // wakes early if it dies
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        throw new IOException(e);
      }
    }
    throw new IllegalStateException("docker-registry did not answer on " + authority() + " within " + limit.toSeconds() + " s");
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  @Override
  public void close() {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly();
      }
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
