package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.testing.FakeRegistry;
import dev.edgelm.proto.v1.FinishReason;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientInterceptors;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.health.v1.HealthCheckRequest;
import io.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.grpc.health.v1.HealthGrpc;
import io.grpc.stub.MetadataUtils;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * The daemon's acceptance, with {@code edgelmd} as a separate OS process on 127.0.0.1 and grpc-java
 * (a client written elsewhere) talking to it. One daemon serves most tests: stories260K
 * ("stories", real weights, fast) and a synthetic GPT-2 small ("slow", random weights, about 20 ms a
 * token: long enough to cancel, time out or queue behind) with API keys configured. A second daemon
 * pulls stories260K from a hub that answers only when the test lets it (health), then drains on
 * SIGTERM. Needs {@code ../shared} (skips without it).
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class DaemonIT {
  private static final String KEY = "it-api-key-0123456789";
  private static final int BUFFER_BOUND = 4;

  @TempDir static Path work;

  private Path stories;
  private Path slow;
  private DaemonProcess daemon;
  private ManagedChannel channel;
  private Channel authed;
  private DecoderModel local;

  @BeforeAll
  void start() throws IOException {
    stories = ItModels.stories260K();
    slow = ItModels.gpt2Small();
    Path config = work.resolve("edgelmd.yaml");
    Files.writeString(config, """
        server:
          host: 127.0.0.1
          grpc_port: 0
          http_port: 0
          drain_timeout: 5s
        auth:
          api_keys: [%s]
        generation:
          max_buffered_messages: %d
        models:
          stories:
            path: %s
            max_concurrent: 8
            max_queued: 8
            pin: true
          slow:
            path: %s
            max_concurrent: 1
            max_queued: 1
        """.formatted(KEY, BUFFER_BOUND, stories, slow));
    daemon = DaemonProcess.start(config, work.resolve("a"));
    channel = daemon.channel(0);
    authed = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(apiKey(KEY)));
    local = DecoderModel.load(ModelPackage.open(stories), SessionSettings.DEFAULTS);
    Await.until("the daemon is ready", () -> daemon.get("/readyz").statusCode() == 200, daemon::log);
  }

  @AfterAll
  void stop() throws InterruptedException {
    if (channel != null) {
      channel.shutdownNow();
    }
    if (local != null) {
      local.close();
    }
    if (daemon != null) {
      daemon.close();
    }
  }

  private static Metadata apiKey(String key) {
    Metadata m = new Metadata();
    m.put(Metadata.Key.of("authorization", Metadata.ASCII_STRING_MARSHALLER), "Bearer " + key);
    return m;
  }

  private static GenerateRequest request(String model, String prompt, int maxTokens) {
    return GenerateRequest.newBuilder().setModel(model).setPrompt(prompt).setMaxTokens(maxTokens).build();
  }

  private GenerationResult localGreedy(String prompt, int maxTokens) {
    return Generation.stream(local, GenerationRequest.ofText(prompt).withMaxTokens(maxTokens), t -> { });
  }

  private static String text(Iterator<GenerateResponse> stream, List<Integer> ids, GenerateResponse[] last) {
    StringBuilder sb = new StringBuilder();
    while (stream.hasNext()) {
      GenerateResponse r = stream.next();
      sb.append(r.getText());
      ids.addAll(r.getTokenIdsList());
      last[0] = r;
    }
    return sb.toString();
  }

  @Test
  void generate_stories_equalsLocalGreedyOutput() {
    GenerationResult expected = localGreedy("Once upon a time", 200);
    List<Integer> ids = new ArrayList<>();
    GenerateResponse[] last = {null};
    String text = text(GenerationGrpc.newBlockingStub(authed).generate(request("stories", "Once upon a time", 200)), ids, last);
    assertEquals(expected.text(), text);
    assertEquals(java.util.Arrays.stream(expected.tokenIds()).boxed().toList(), ids);
    assertEquals(expected.usage().promptTokens(), last[0].getUsage().getPromptTokens());
    assertEquals(expected.usage().completionTokens(), last[0].getUsage().getCompletionTokens());
    assertEquals(FinishReason.valueOf("FINISH_REASON_" + expected.finishReason().name()), last[0].getFinishReason());
    assertTrue(last[0].getTimings().getTimeToFirstTokenMs() > 0);
  }

  @Test
  void cliGenerateRemote_printsTheLocalGreedyText() throws Exception {
    GenerationResult expected = localGreedy("The little dog", 80);
    Cli.Run run = Cli.run(work.resolve("cli"), "generate", "--remote", "127.0.0.1:" + daemon.grpcPort(), "--api-key", KEY,
        "--model", "stories", "--prompt", "The little dog", "--max-tokens", "80");
    assertEquals(0, run.exit(), run.err());
    assertEquals(expected.text() + "\n", run.out(), "the text, ended by a newline");
  }

  @Test
  void generate_eightConcurrentStreams_allCompleteCorrectly() {
    String[] prompts = {"Once upon a time", "The little dog", "Tom had a", "One day", "The sun was", "Lily and Ben",
        "There was a big", "The cat"};
    List<ManualStream> streams = new ArrayList<>();
    for (String p : prompts) {
      streams.add(ManualStream.start(authed, CallOptions.DEFAULT, request("stories", p, 150), new Metadata(), Integer.MAX_VALUE));
    }
    for (int i = 0; i < prompts.length; i++) {
      ManualStream s = streams.get(i);
      assertEquals(Status.Code.OK, s.await().getCode(), prompts[i]);
      assertEquals(localGreedy(prompts[i], 150).text(), s.text(), prompts[i]);
    }
  }

  @Test
  void generate_cancelled_stopsServerSideWorkWithinOneStep() {
    double before = daemon.metric("edgelm_generated_tokens_total", "\"slow\"");
    ManualStream s = ManualStream.start(authed, CallOptions.DEFAULT, request("slow", "hello", 400), new Metadata(), Integer.MAX_VALUE);
    Await.until("three tokens arrive", () -> s.received.size() >= 3, daemon::log);
    s.cancel();
    assertEquals(Status.Code.CANCELLED, s.await().getCode());
    Await.until("the slot is freed", () -> {
      String m = daemon.metrics();
      return DaemonProcess.metricValue(m, "edgelm_active_streams", "\"slow\"") == 0
          && DaemonProcess.metricValue(m, "edgelm_stream_cancelling", "") == 0;
    });
    String m = daemon.metrics();
    double generated = DaemonProcess.metricValue(m, "edgelm_generated_tokens_total", "\"slow\"") - before;
    assertTrue(generated < 200, "decoding stopped long before max_tokens: " + generated + " tokens of 400");
    assertTrue(DaemonProcess.metricValue(m, "edgelm_generation_steps_after_cancel_sum", "\"slow\"")
        <= DaemonProcess.metricValue(m, "edgelm_generation_steps_after_cancel_count", "\"slow\""), "at most one step after each cancel");
    assertEquals(DaemonProcess.metricValue(m, "edgelm_generated_tokens_total", "\"slow\""),
        daemon.metric("edgelm_generated_tokens_total", "\"slow\""), "the tokens-generated counter stopped growing");
  }

  /**
   * grpc-java resets the stream when its deadline passes, about when the daemon's own timer fires:
   * a short deadline is counted as DEADLINE_EXCEEDED in the metrics, not as a client cancel.
   */
  @Test
  void generate_50msDeadline_isCountedAsDeadlineExceeded() {
    String deadline = "rpc_grpc_status=\"DEADLINE_EXCEEDED\"";
    String cancelled = "rpc_grpc_status=\"CANCELLED\"";
    String before = daemon.metrics();
    int calls = 5;
    for (int i = 0; i < calls; i++) {
      Await.until("the slow model is idle", () -> daemon.metric("edgelm_active_streams", "\"slow\"") == 0, daemon::metrics);
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> text(GenerationGrpc.newBlockingStub(authed)
          .withDeadlineAfter(50, TimeUnit.MILLISECONDS).generate(request("slow", "hello", 400)), new ArrayList<>(), new GenerateResponse[1]));
      assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
    }
    Await.until("no stream is in progress", () -> daemon.metric("edgelm_stream_in_progress", "") == 0, daemon::metrics);
    String after = daemon.metrics();
    assertEquals(calls, DaemonProcess.metricValue(after, "edgelm_requests_total", deadline)
        - DaemonProcess.metricValue(before, "edgelm_requests_total", deadline), after);
    assertEquals(0, DaemonProcess.metricValue(after, "edgelm_requests_total", cancelled)
        - DaemonProcess.metricValue(before, "edgelm_requests_total", cancelled), after);
  }

  @Test
  void generate_deadline_givesDeadlineExceeded() throws Exception {
    // grpc-java enforces the deadline on both sides; the CLI only sends it, so its status comes from the daemon.
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class, () -> text(GenerationGrpc.newBlockingStub(authed)
        .withDeadlineAfter(1500, TimeUnit.MILLISECONDS).generate(request("slow", "hello", 400)), new ArrayList<>(), new GenerateResponse[1]));
    assertEquals(Status.Code.DEADLINE_EXCEEDED, e.getStatus().getCode());
    Cli.Run run = Cli.run(work.resolve("cli"), "generate", "--remote", "127.0.0.1:" + daemon.grpcPort(), "--api-key", KEY,
        "--model", "slow", "--prompt", "hello", "--max-tokens", "400", "--deadline", "1500ms");
    assertEquals(1, run.exit(), run.err());
    assertTrue(run.err().contains("DEADLINE_EXCEEDED"), run.err());
    assertTrue(daemon.metric("edgelm_requests_total", "DEADLINE_EXCEEDED") >= 1);
    Await.until("the slot is freed", () -> daemon.metric("edgelm_active_streams", "\"slow\"") == 0);
  }

  @Test
  void generate_slowReader_keepsServerBufferWithinItsBound() throws Exception {
    // A 1 KiB HTTP/2 window: a reader that stops reading pushes back on the daemon after a few dozen messages.
    ManagedChannel small = daemon.channel(1024);
    double before = daemon.metric("edgelm_generated_tokens_total", "\"stories\"");
    try {
      Channel ch = ClientInterceptors.intercept(small, MetadataUtils.newAttachHeadersInterceptor(apiKey(KEY)));
      ManualStream s = ManualStream.start(ch, CallOptions.DEFAULT, request("stories", "Once upon a time", 500), new Metadata(), 1);
      int seconds = 6;
      CountDownLatch ticks = new CountDownLatch(seconds);
      List<double[]> seen = new ArrayList<>();
      ScheduledExecutorService reader = Executors.newSingleThreadScheduledExecutor();
      reader.scheduleAtFixedRate(() -> {
        String m = daemon.metrics();
        synchronized (seen) {
          seen.add(new double[] {DaemonProcess.metricValue(m, "edgelm_stream_buffered_messages_max", ""),
              DaemonProcess.metricValue(m, "edgelm_stream_buffered_messages", ""), DaemonProcess.metricValue(m, "edgelm_stream_paused", "")});
        }
        s.request(1); // one message a second
        ticks.countDown();
      }, 1, 1, TimeUnit.SECONDS);
      assertTrue(ticks.await(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS));
      reader.shutdownNow();
      synchronized (seen) {
        for (double[] v : seen) {
          assertTrue(v[0] <= BUFFER_BOUND && v[1] <= BUFFER_BOUND, "buffered messages stayed within " + BUFFER_BOUND + ": " + java.util.Arrays.toString(v));
        }
        assertTrue(seen.stream().anyMatch(v -> v[2] >= 1), "decoding paused for the slow reader");
      }
      double generated = daemon.metric("edgelm_generated_tokens_total", "\"stories\"") - before;
      assertTrue(generated < 200, "decoding stayed close to the reader: " + generated + " tokens generated of 500 while "
          + s.received.size() + " were read");
      s.request(Integer.MAX_VALUE);
      assertEquals(Status.Code.OK, s.await().getCode());
      assertEquals(localGreedy("Once upon a time", 500).text(), s.text());
      assertTrue(daemon.metric("edgelm_stream_buffered_messages_max", "") <= BUFFER_BOUND);
    } finally {
      small.shutdownNow();
    }
  }

  @Test
  void generate_queueOverflow_givesResourceExhausted() {
    ManualStream running = ManualStream.start(authed, CallOptions.DEFAULT, request("slow", "a", 400), new Metadata(), Integer.MAX_VALUE);
    Await.until("one stream runs", () -> daemon.metric("edgelm_active_streams", "\"slow\"") == 1 && !running.received.isEmpty());
    ManualStream queued = ManualStream.start(authed, CallOptions.DEFAULT, request("slow", "b", 400), new Metadata(), Integer.MAX_VALUE);
    Await.until("one stream waits", () -> daemon.metric("edgelm_queue_depth", "\"slow\"") == 1);
    StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
        () -> GenerationGrpc.newBlockingStub(authed).generate(request("slow", "c", 5)).hasNext());
    assertEquals(Status.Code.RESOURCE_EXHAUSTED, e.getStatus().getCode());
    running.cancel();
    queued.cancel();
    Await.until("the slots are freed", () -> daemon.metric("edgelm_active_streams", "\"slow\"") == 0
        && daemon.metric("edgelm_queue_depth", "\"slow\"") == 0);
  }

  @Test
  void metrics_showTimeToFirstTokenHistogramWithNonZeroCount() {
    assertEquals(Status.Code.OK, ManualStream.start(authed, CallOptions.DEFAULT, request("stories", "One day", 10), new Metadata(),
        Integer.MAX_VALUE).await().getCode());
    String m = daemon.metrics();
    assertTrue(DaemonProcess.metricValue(m, "gen_ai_server_time_to_first_token_seconds_count", "gen_ai_request_model=\"stories\"") > 0, m);
    assertTrue(m.contains("gen_ai_server_time_to_first_token_seconds_bucket{"), m);
  }

  @Test
  void apiKey_wrongOrMissing_givesUnauthenticated() {
    Channel wrong = ClientInterceptors.intercept(channel, MetadataUtils.newAttachHeadersInterceptor(apiKey("not-the-key-000")));
    for (Channel c : List.of(wrong, channel)) {
      StatusRuntimeException e = assertThrows(StatusRuntimeException.class,
          () -> GenerationGrpc.newBlockingStub(c).generate(request("stories", "x", 3)).hasNext());
      assertEquals(Status.Code.UNAUTHENTICATED, e.getStatus().getCode());
    }
    assertEquals(ServingStatus.SERVING, HealthGrpc.newBlockingStub(channel).check(HealthCheckRequest.getDefaultInstance()).getStatus(),
        "health needs no key");
  }

  /**
   * A second daemon whose model comes from a hub reference: health is NOT_SERVING while the pull
   * is held, SERVING once the hub answers; then SIGTERM during a stream drains it and it exits 0.
   */
  @Test
  void hubModel_healthNotServingUntilLoaded_thenSigtermDrainsAndExitsZero() throws Exception {
    try (FakeRegistry registry = FakeRegistry.start(); GatedProxy hub = new GatedProxy(registry.port())) {
      try (Hub publisher = Hub.open(HubOptions.defaults(work.resolve("publisher-store")))) {
        publisher.publish(List.of(stories), Reference.parse(registry.authority() + "/models/stories:1"), PublishOptions.DEFAULT,
            ProgressListener.NONE);
      }
      Path config = work.resolve("edgelmd-hub.yaml");
      Files.writeString(config, """
          server: {grpc_port: 0, http_port: 0, drain_timeout: 3s}
          hub: {store: %s}
          models:
            stories:
              ref: 127.0.0.1:%d/models/stories:1
              variant: fp32
          """.formatted(work.resolve("b-store"), hub.port()));
      try (DaemonProcess b = DaemonProcess.start(config, work.resolve("b"))) {
        ManagedChannel ch = b.channel(1024);
        try {
          HealthGrpc.HealthBlockingStub health = HealthGrpc.newBlockingStub(ch);
          assertEquals(ServingStatus.NOT_SERVING, health.check(HealthCheckRequest.getDefaultInstance()).getStatus());
          assertEquals(ServingStatus.NOT_SERVING, health.check(HealthCheckRequest.newBuilder().setService("edgelm.v1.Generation").build()).getStatus());
          assertEquals(503, b.get("/readyz").statusCode());
          StatusRuntimeException loading = assertThrows(StatusRuntimeException.class,
              () -> GenerationGrpc.newBlockingStub(ch).generate(request("stories", "x", 3)).hasNext());
          assertEquals(Status.Code.UNAVAILABLE, loading.getStatus().getCode());
          hub.open();
          Await.until("health turns SERVING", () -> health.check(HealthCheckRequest.getDefaultInstance()).getStatus() == ServingStatus.SERVING, b::log);
          assertEquals(200, b.get("/readyz").statusCode());

          // A stream whose reader has stopped stays in flight; SIGTERM drains it.
          ManualStream s = ManualStream.start(ch, CallOptions.DEFAULT, request("stories", "Once upon a time", 500), new Metadata(), 1);
          Await.until("the stream pauses for its reader", () -> b.metric("edgelm_stream_paused", "") == 1);
          b.sigterm();
          Await.until("health reports the drain", () -> health.check(HealthCheckRequest.getDefaultInstance()).getStatus() == ServingStatus.NOT_SERVING);
          StatusRuntimeException refused = assertThrows(StatusRuntimeException.class,
              () -> GenerationGrpc.newBlockingStub(ch).generate(request("stories", "x", 3)).hasNext());
          assertEquals(Status.Code.UNAVAILABLE, refused.getStatus().getCode());
          Await.until("the drain timeout cancels the stream", () -> b.log().contains("drain timeout: cancelling 1 streams"));
          s.request(Integer.MAX_VALUE);
          assertEquals(Status.Code.OK, s.await().getCode());
          assertEquals(FinishReason.FINISH_REASON_CANCELLED, s.last().getFinishReason());
          assertTrue(s.text().length() > 0 && localGreedy("Once upon a time", 500).text().startsWith(s.text()));
          assertEquals(0, b.awaitExit(), b.log());
        } finally {
          ch.shutdownNow();
        }
      }
    }
  }

  /** Runs the edgelm CLI as its own process (this test's class path), capturing stdout and stderr. */
  static final class Cli {
    record Run(int exit, String out, String err) {}

    static Run run(Path dir, String... args) throws IOException, InterruptedException {
      Files.createDirectories(dir);
      Path out = Files.createTempFile(dir, "out", ".txt");
      Path err = Files.createTempFile(dir, "err", ".txt");
      List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-Xmx256m",
          "-cp", System.getProperty("java.class.path"), "dev.edgelm.cli.Main"));
      cmd.addAll(List.of(args));
      Process p = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
      if (!p.waitFor(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS)) {
        p.destroyForcibly();
        throw new AssertionError("edgelm " + String.join(" ", args) + " did not finish");
      }
      return new Run(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8), Files.readString(err, StandardCharsets.UTF_8));
    }
  }
}
