package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.proto.v1.GenerateRequest;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import io.vertx.grpc.health.v1.HealthCheckResponse;
import io.vertx.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.vertx.grpc.health.v1.HealthListRequest;
import io.vertx.grpc.health.v1.HealthListResponse;
import io.vertx.grpc.reflection.v1.ServerReflectionRequest;
import io.vertx.grpc.reflection.v1.ServerReflectionResponse;
import io.vertx.grpc.reflection.v1.ServiceResponse;
import java.nio.file.Path;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Health (Check, Watch, List), reflection, the Prometheus scrape, and traces. */
class HealthAndObservabilityTest {
  static final ServiceMethod<HealthCheckResponse, HealthCheckRequest> CHECK =
      TestDaemon.method("grpc.health.v1.Health", "Check", HealthCheckResponse.newBuilder());
  static final ServiceMethod<HealthCheckResponse, HealthCheckRequest> WATCH =
      TestDaemon.method("grpc.health.v1.Health", "Watch", HealthCheckResponse.newBuilder());
  static final ServiceMethod<HealthListResponse, HealthListRequest> LIST =
      TestDaemon.method("grpc.health.v1.Health", "List", HealthListResponse.newBuilder());
  static final ServiceMethod<ServerReflectionResponse, ServerReflectionRequest> REFLECT =
      TestDaemon.method("grpc.reflection.v1.ServerReflection", "ServerReflectionInfo", ServerReflectionResponse.newBuilder());

  @TempDir Path tmp;

  private final FakeModelLoader loader = new FakeModelLoader().serve("tiny", () -> FakeModelLoader.saying(5, 64));
  private TestDaemon d;

  @AfterEach
  void stop() {
    if (d != null) {
      d.close();
    }
  }

  private Map<String, String> flags(String... extra) {
    java.util.Map<String, String> f = new java.util.LinkedHashMap<>();
    f.put("models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString());
    for (int i = 0; i < extra.length; i += 2) {
      f.put(extra[i], extra[i + 1]);
    }
    return f;
  }

  private ServingStatus check(String service) {
    return d.call(CHECK, HealthCheckRequest.newBuilder().setService(service).build()).single().getStatus();
  }

  @Test
  void health_notServingUntilConfiguredModelsLoad_andWatchSeesTheChange() {
    loader.closeGate();
    d = TestDaemon.start(loader, flags("auth.api_keys", "a-valid-key-1"));
    assertEquals(ServingStatus.NOT_SERVING, check(""), "health needs no API key, and waits for the models");
    assertEquals(ServingStatus.NOT_SERVING, check("edgelm.v1.Generation"));
    assertEquals(ServingStatus.SERVING, check("edgelm.v1.Models"));
    assertEquals(GrpcStatus.NOT_FOUND, d.call(CHECK, HealthCheckRequest.newBuilder().setService("nope").build()).status().status());
    TestDaemon.OpenCall<HealthCheckResponse> watch = d.open(WATCH, HealthCheckRequest.getDefaultInstance(), Map.of());
    Awaits.until("the watch reports", () -> !watch.messages().isEmpty());
    assertEquals(ServingStatus.NOT_SERVING, watch.messages().get(0).getStatus());
    loader.openGate();
    Awaits.until("the watch reports SERVING", () -> watch.messages().size() == 2);
    assertEquals(ServingStatus.SERVING, watch.messages().get(1).getStatus());
    assertEquals(ServingStatus.SERVING, check(""));
    HealthListResponse list = d.call(LIST, HealthListRequest.getDefaultInstance()).single();
    assertEquals(ServingStatus.SERVING, list.getStatusesOrThrow("edgelm.v1.Generation").getStatus());
    watch.cancel().join().run();
  }

  @Test
  void reflection_listsEveryService_behindTheApiKey() {
    d = TestDaemon.start(loader, flags("auth.api_keys", "a-valid-key-1"));
    ServerReflectionRequest list = ServerReflectionRequest.newBuilder().setListServices("").build();
    assertEquals(GrpcStatus.UNAUTHENTICATED, d.call(REFLECT, list).status().status());
    ServerReflectionResponse r = d.call(REFLECT, list, Map.of("x-api-key", "a-valid-key-1")).single();
    List<String> names = r.getListServicesResponse().getServiceList().stream().map(ServiceResponse::getName).toList();
    assertTrue(names.containsAll(List.of("edgelm.v1.Generation", "edgelm.v1.Models", "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection")), names.toString());
    ServerReflectionResponse file = d.call(REFLECT, ServerReflectionRequest.newBuilder().setFileContainingSymbol("edgelm.v1.Generation").build(),
        Map.of("x-api-key", "a-valid-key-1")).single();
    assertTrue(file.getFileDescriptorResponse().getFileDescriptorProtoCount() > 0);
  }

  @Test
  void metrics_exposeGenAiAndEdgelmInstruments() {
    d = TestDaemon.start(loader, flags());
    Awaits.until("ready", d.daemon::ready);
    assertEquals(GrpcStatus.OK, d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("ab").build()).await().status());
    String m = d.metrics();
    assertEquals(1, TestDaemon.metricValue(m, "gen_ai_server_time_to_first_token_seconds_count", "gen_ai_request_model=\"tiny\""), m);
    assertEquals(1, TestDaemon.metricValue(m, "gen_ai_server_request_duration_seconds_count", "tiny"));
    assertEquals(1, TestDaemon.metricValue(m, "gen_ai_server_time_per_output_token_seconds_count", "tiny"));
    assertEquals(2, TestDaemon.metricValue(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"input\""));
    assertEquals(6, TestDaemon.metricValue(m, "gen_ai_client_token_usage_sum", "gen_ai_token_type=\"output\""));
    assertEquals(6, TestDaemon.metricValue(m, "edgelm_generated_tokens_total", "tiny"));
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"OK\""));
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_model_load_duration_seconds_count", "loaded"));
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_model_cache_hits_total", "tiny"));
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_model_cache_models", ""));
    assertTrue(m.contains("edgelm_queue_depth{"), m);
  }

  @Test
  void traces_haveQueuePrefillAndDecodeSpans_underTheCallersTrace() {
    Collector spans = new Collector();
    d = TestDaemon.start(DaemonRuntime.DEFAULTS.withLoader(loader).withSpanExporter(spans), flags());
    Awaits.until("ready", d.daemon::ready);
    String trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("ab").build(),
        Map.of("traceparent", "00-" + trace + "-00f067aa0ba902b7-01"), 0);
    assertEquals(GrpcStatus.OK, s.await().status());
    Awaits.until("four spans are exported", () -> spans.spans.size() == 4, () -> spans.spans.toString());
    Map<String, SpanData> byName = spans.spans.stream().collect(Collectors.toMap(SpanData::getName, x -> x));
    SpanData root = byName.get("text_completion tiny");
    assertEquals(trace, root.getTraceId());
    assertEquals("00f067aa0ba902b7", root.getParentSpanId());
    assertEquals(6L, root.getAttributes().get(io.opentelemetry.api.common.AttributeKey.longKey("gen_ai.usage.output_tokens")));
    for (String phase : List.of("queue", "prefill", "decode")) {
      assertEquals(root.getSpanId(), byName.get(phase).getParentSpanId(), phase);
    }
    assertTrue(byName.get("queue").getEndEpochNanos() <= byName.get("prefill").getStartEpochNanos() + 1_000_000);
  }

  private static final class Collector implements SpanExporter {
    final List<SpanData> spans = new CopyOnWriteArrayList<>();

    @Override
    public CompletableResultCode export(Collection<SpanData> batch) {
      spans.addAll(batch);
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode flush() {
      return CompletableResultCode.ofSuccess();
    }

    @Override
    public CompletableResultCode shutdown() {
      return CompletableResultCode.ofSuccess();
    }
  }
}
