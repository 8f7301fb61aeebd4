package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcClient;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * TLS and mutual TLS on the gRPC port (and the OpenAI API's port, which shares them), with certificates made by the {@code openssl} command for
 * each run (the test is skipped when it is absent): a CA, a server certificate for 127.0.0.1 and
 * a client certificate.
 */
class TlsTest {
  @TempDir Path tmp;

  private final FakeModelLoader loader = new FakeModelLoader().serve("tiny", () -> FakeModelLoader.saying(3, 64));
  private TestDaemon d;
  private Vertx vertx;

  @AfterEach
  void stop() {
    if (vertx != null) {
      vertx.close();
    }
    if (d != null) {
      d.close();
    }
  }

  private void openssl(String... args) throws IOException, InterruptedException {
    List<String> cmd = new ArrayList<>(List.of("openssl"));
    cmd.addAll(List.of(args));
    Process p = new ProcessBuilder(cmd).directory(tmp.toFile()).redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes());
    assertEquals(0, p.waitFor(), out);
  }

  private void makeCertificates() throws IOException, InterruptedException {
    assumeTrue(Files.isExecutable(Path.of("/usr/bin/openssl")) || Files.isExecutable(Path.of("/usr/local/bin/openssl")),
        "skipped: the openssl command is absent");
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=test-ca");
    Files.writeString(tmp.resolve("server.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
    for (String who : List.of("server", "client")) {
      openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", who + ".rsa", "-out", who + ".csr", "-subj", "/CN=" + who);
      List<String> sign = new ArrayList<>(List.of("x509", "-req", "-in", who + ".csr", "-CA", "ca.pem", "-CAkey", "ca.key",
          "-CAcreateserial", "-out", who + ".pem", "-days", "2"));
      if (who.equals("server")) {
        sign.addAll(List.of("-extfile", "server.ext"));
      }
      openssl(sign.toArray(String[]::new));
      openssl("pkcs8", "-topk8", "-nocrypt", "-in", who + ".rsa", "-out", who + ".key");
    }
  }

  private TestDaemon start(boolean mutual) {
    Map<String, String> flags = new java.util.LinkedHashMap<>();
    flags.put("models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString());
    flags.put("tls.cert_file", tmp.resolve("server.pem").toString());
    flags.put("tls.key_file", tmp.resolve("server.key").toString());
    flags.put("server.openai_port", "0");
    if (mutual) {
      flags.put("tls.client_ca_file", tmp.resolve("ca.pem").toString());
    }
    d = TestDaemon.start(loader, flags);
    Awaits.until("ready", d.daemon::ready);
    return d;
  }

  /** Streams one generation over TLS; returns the text, or throws the connection failure. */
  private String generate(boolean presentCertificate) throws Exception {
    vertx = vertx == null ? Vertx.vertx() : vertx;
    HttpClientOptions http = new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setSsl(true).setUseAlpn(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(tmp.resolve("ca.pem").toString()));
    if (presentCertificate) {
      http.setKeyCertOptions(new PemKeyCertOptions().setCertPath(tmp.resolve("client.pem").toString())
          .setKeyPath(tmp.resolve("client.key").toString()));
    }
    GrpcClient client = GrpcClient.client(vertx, http);
    CompletableFuture<String> text = new CompletableFuture<>();
    StringBuilder sb = new StringBuilder();
    client.request(SocketAddress.inetSocketAddress(d.daemon.grpcPort(), "127.0.0.1"), GenerationGrpcClient.Generate)
        .compose(req -> {
          req.end(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").build());
          return req.response();
        })
        .onComplete(ar -> {
          if (ar.failed()) {
            text.completeExceptionally(ar.cause());
            return;
          }
          GrpcClientResponse<GenerateRequest, GenerateResponse> resp = ar.result();
          resp.handler(r -> sb.append(r.getText()));
          resp.endHandler(v -> {
            if (resp.status() == GrpcStatus.OK) {
              text.complete(sb.toString());
            } else {
              text.completeExceptionally(new IllegalStateException(resp.status().name()));
            }
          });
          resp.exceptionHandler(text::completeExceptionally);
        });
    try {
      return text.get(60, TimeUnit.SECONDS);
    } finally {
      client.close();
    }
  }

  /** One completion from the OpenAI API's port over HTTPS; returns the status and body. */
  private String openaiCompletion() throws Exception {
    vertx = vertx == null ? Vertx.vertx() : vertx;
    io.vertx.core.http.HttpClientAgent c = vertx.createHttpClient(new HttpClientOptions().setSsl(true)
        .setTrustOptions(new PemTrustOptions().addCertPath(tmp.resolve("ca.pem").toString())));
    try {
      return c.request(new io.vertx.core.http.RequestOptions().setMethod(io.vertx.core.http.HttpMethod.POST).setHost("127.0.0.1")
              .setPort(d.daemon.openaiPort()).setURI("/v1/completions"))
          .compose(req -> req.putHeader("content-type", "application/json").send("{\"model\": \"tiny\", \"prompt\": \"a\", \"temperature\": 0}"))
          .compose(resp -> resp.body().map(b -> resp.statusCode() + " " + b))
          .toCompletionStage().toCompletableFuture().get(60, TimeUnit.SECONDS);
    } finally {
      c.close();
    }
  }

  @Test
  void tls_servesClientsThatTrustItsCa() throws Exception {
    makeCertificates();
    start(false);
    assertEquals("abc", generate(false));
    String openai = openaiCompletion();
    assertTrue(openai.startsWith("200 ") && openai.contains("\"text\":\"abc\""), openai);
  }

  @Test
  void mutualTls_refusesClientsWithoutACertificate() throws Exception {
    makeCertificates();
    start(true);
    assertEquals("abc", generate(true));
    ExecutionException refused = org.junit.jupiter.api.Assertions.assertThrows(ExecutionException.class, () -> generate(false));
    assertTrue(refused.getCause() != null);
  }
}
