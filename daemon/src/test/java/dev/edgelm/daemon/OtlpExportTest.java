package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.net.httpserver.HttpServer;
import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.proto.v1.GenerateRequest;
import io.vertx.grpc.common.GrpcStatus;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** OTLP export when configured: metrics and traces reach a collector (a loopback HTTP receiver here). */
class OtlpExportTest {
  @TempDir Path tmp;

  @Test
  void otlpEndpoint_receivesMetricsAndTraces() throws Exception {
    Map<String, Integer> received = new ConcurrentHashMap<>();
    HttpServer collector = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
    collector.createContext("/", exchange -> {
      byte[] body = exchange.getRequestBody().readAllBytes();
      received.merge(exchange.getRequestURI().getPath(), body.length, Integer::sum);
      exchange.sendResponseHeaders(200, -1);
      exchange.close();
    });
    collector.start();
    try {
      FakeModelLoader loader = new FakeModelLoader().serve("tiny", () -> FakeModelLoader.saying(3, 64));
      TestDaemon d = TestDaemon.start(loader, Map.of(
          "models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString(),
          "telemetry.otlp_endpoint", "http://127.0.0.1:" + collector.getAddress().getPort(),
          "telemetry.metric_export_interval", "1h"));
      Awaits.until("ready", d.daemon::ready);
      assertEquals(GrpcStatus.OK, d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").build()).await().status());
      d.close(); // shutting down flushes both exporters
      assertTrue(received.getOrDefault("/v1/traces", 0) > 0, received.toString());
      assertTrue(received.getOrDefault("/v1/metrics", 0) > 0, received.toString());
    } finally {
      collector.stop(0);
    }
  }
}
