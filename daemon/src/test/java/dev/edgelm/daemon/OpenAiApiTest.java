package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.engine.testing.FakeLanguageModel;
import io.vertx.core.json.JsonObject;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The OpenAI-compatible HTTP API of an in-process daemon serving fake models ({@link FakeModelLoader}) on loopback:
 * chat templates (the package has none; the operator's file), the error statuses, and a client that disconnects
 * mid-stream. Steps of a gated model wait for permits, so the tests decide when the model runs.
 */
class OpenAiApiTest {
  private static final String KEY = "unit-test-key-0123";

  @TempDir Path tmp;

  private final FakeModelLoader loader = new FakeModelLoader();
  private final HttpClient http = HttpClient.newHttpClient();
  private TestDaemon d;

  @AfterEach
  void stop() {
    if (d != null) {
      d.close();
    }
  }

  private void start(Map<String, String> flags) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("server.openai_port", "0");
    all.put("auth.api_keys", KEY);
    all.put("models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString());
    all.putAll(flags);
    d = TestDaemon.start(loader, all);
  }

  private HttpResponse<String> post(String path, String body, String key) throws IOException, InterruptedException {
    HttpRequest.Builder b = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.daemon.openaiPort() + path))
        .header("content-type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
    if (key != null) {
      b.header("authorization", "Bearer " + key);
    }
    return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
  }

  private String get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.daemon.openaiPort() + path))
          .header("authorization", "Bearer " + KEY).build(), HttpResponse.BodyHandlers.ofString()).body();
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  private static JsonObject error(HttpResponse<String> r) {
    return new JsonObject(r.body()).getJsonObject("error");
  }

  @Test
  void chat_withoutTemplate_is400SayingSo_andTheOperatorsTemplateRendersThePrompt() throws Exception {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    loader.serve("own", () -> FakeModelLoader.saying(3, 64));
    Path template = Files.writeString(tmp.resolve("t.jinja"), "{% for m in messages %}{{ m.content }} {% endfor %}");
    start(Map.of("models.own.path", FakeModelLoader.writePackage(tmp.resolve("own"), "own", 4096).toString(),
        "models.own.chat_template", template.toString()));
    Awaits.until("the daemon is ready", d.daemon::ready);
    String messages = "\"messages\": [{\"role\": \"system\", \"content\": \"ab\"}, {\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"cd\"}]}]";

    HttpResponse<String> none = post("/v1/chat/completions", "{\"model\": \"tiny\", " + messages + "}", KEY);
    assertEquals(400, none.statusCode(), none.body());
    assertEquals("package tiny has no chat template; set models.tiny.chat_template to a file or one of chatml, llama2, zephyr",
        error(none).getString("message"));
    assertEquals("invalid_request_error", error(none).getString("type"));

    HttpResponse<String> own = post("/v1/chat/completions", "{\"model\": \"own\", \"max_tokens\": 3, \"unknown_field\": 1, " + messages + "}", KEY);
    assertEquals(200, own.statusCode(), own.body());
    JsonObject body = new JsonObject(own.body());
    assertEquals("chat.completion", body.getString("object"));
    assertEquals(6, body.getJsonObject("usage").getInteger("prompt_tokens"), "\"ab cd \" rendered by the operator's template");
    assertEquals("abc", body.getJsonArray("choices").getJsonObject(0).getJsonObject("message").getString("content"));
    assertEquals("length", body.getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
  }

  @Test
  void errors_haveOpenAisShapeAndStatus() throws Exception {
    Semaphore permits = new Semaphore(0);
    loader.serve("tiny", () -> FakeModelLoader.saying(1000, 2048).beforeAppend(n -> permits.acquireUninterruptibly()));
    start(Map.of("models.tiny.max_concurrent", "1", "models.tiny.max_queued", "0", "models.tiny.preload", "false"));
    String ok = "{\"model\": \"tiny\", \"prompt\": \"ab\", \"max_tokens\": 5}";

    HttpResponse<String> loading = post("/v1/completions", ok, KEY);
    assertEquals(503, loading.statusCode(), loading.body());
    assertEquals("1", loading.headers().firstValue("retry-after").orElse(""));
    Awaits.until("the model is loaded", () -> get("/v1/models").contains("\"status\":\"loaded\""));

    assertEquals(401, post("/v1/completions", ok, null).statusCode());
    assertEquals("authentication_error", error(post("/v1/completions", ok, "wrong-key-000")).getString("type"));
    assertEquals(404, post("/v1/completions", "{\"model\": \"nope\", \"prompt\": \"ab\"}", KEY).statusCode());
    assertEquals(400, post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"ab\", \"n\": 2}", KEY).statusCode());
    assertEquals(400, post("/v1/completions", "not json", KEY).statusCode());
    HttpResponse<String> beyond = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"ab\", \"max_tokens\": 5000}", KEY);
    assertEquals(400, beyond.statusCode());
    assertTrue(error(beyond).getString("message").contains("lower max_tokens to at most 2046"), beyond.body());

    try (Socket held = openStream("{\"model\": \"tiny\", \"prompt\": \"ab\", \"max_tokens\": 100, \"stream\": true}")) {
      Awaits.until("the stream holds the only slot", () -> d.metric("edgelm_active_streams", "tiny") == 1);
      HttpResponse<String> full = post("/v1/completions", ok, KEY);
      assertEquals(429, full.statusCode(), full.body());
      assertEquals("1", full.headers().firstValue("retry-after").orElse(""));
      assertEquals("rate_limit_error", error(full).getString("type"));
    }
    permits.release(10_000);
  }

  @Test
  void streaming_clientDisconnect_cancelsTheGenerationWithinOneStep() throws Exception {
    Semaphore permits = new Semaphore(0);
    FakeLanguageModel model = FakeModelLoader.saying(1000, 2048).beforeAppend(n -> permits.acquireUninterruptibly());
    loader.serve("tiny", () -> model);
    start(Map.of());
    Awaits.until("the daemon is ready", d.daemon::ready);
    permits.release(3); // prefill and two tokens
    try (Socket s = openStream("{\"model\": \"tiny\", \"prompt\": \"ab\", \"max_tokens\": 1000, \"stream\": true}")) {
      BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
      String line;
      int events = 0;
      while (events < 2 && (line = in.readLine()) != null) {
        events += line.startsWith("data: {") ? 1 : 0;
      }
      assertEquals(2, events);
      Awaits.until("the third step waits for its permit", () -> model.appendCalls() == 4);
    } // the client goes away mid-stream
    Awaits.until("the daemon sees the disconnect", () -> d.metric("edgelm_stream_cancelling", "") == 1);
    permits.release(10_000);
    Awaits.until("the stream ends", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    String m = d.metrics();
    assertEquals(4, model.appendCalls(), "the step running at the disconnect completed, no other started");
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_requests_total", "edgelm_api=\"openai\",gen_ai_operation_name=\"text_completion\",gen_ai_request_model=\"tiny\",rpc_grpc_status=\"CANCELLED\""), m);
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_generation_steps_after_cancel_sum", "tiny"));
  }

  @Test
  void drain_refusesNewCallsWith503_whileAStreamInFlightFinishes() throws Exception {
    Semaphore permits = new Semaphore(0);
    loader.serve("tiny", () -> FakeModelLoader.saying(5, 64).beforeAppend(n -> permits.acquireUninterruptibly()));
    start(Map.of());
    Awaits.until("the daemon is ready", d.daemon::ready);
    var inFlight = http.sendAsync(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + d.daemon.openaiPort() + "/v1/completions"))
        .header("authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString("{\"model\": \"tiny\", \"prompt\": \"ab\"}"))
        .build(), HttpResponse.BodyHandlers.ofString());
    Awaits.until("the call runs", () -> d.metric("edgelm_active_streams", "tiny") == 1);
    var drained = d.daemon.drain();
    HttpResponse<String> refused = post("/v1/completions", "{\"model\": \"tiny\", \"prompt\": \"ab\"}", KEY);
    assertEquals(503, refused.statusCode(), refused.body());
    assertEquals("1", refused.headers().firstValue("retry-after").orElse(""));
    assertTrue(error(refused).getString("message").contains("draining"), refused.body());
    assertTrue(get("/health").contains("\"status\":\"draining\""));
    permits.release(100);
    HttpResponse<String> finished = inFlight.get();
    assertEquals(200, finished.statusCode(), finished.body());
    assertEquals("stop", new JsonObject(finished.body()).getJsonArray("choices").getJsonObject(0).getString("finish_reason"));
    drained.get();
  }

  /** An HTTP/1.1 streaming request on a raw socket, so that the test decides when the connection closes. */
  private Socket openStream(String body) throws IOException {
    Socket s = new Socket("127.0.0.1", d.daemon.openaiPort());
    byte[] b = body.getBytes(StandardCharsets.UTF_8);
    OutputStream out = s.getOutputStream();
    out.write(("POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + KEY + "\r\nContent-Type: application/json\r\n"
        + "Content-Length: " + b.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
    out.write(b);
    out.flush();
    return s;
  }
}
