package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.HeldReader;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.engine.testing.FakeLanguageModel;
import dev.edgelm.proto.v1.FinishReason;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import io.vertx.grpc.common.GrpcStatus;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Semaphore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The Generation service over a real gRPC connection to an in-process daemon serving fake models
 * ({@link FakeModelLoader}): streaming, status codes, admission, cancellation, deadlines,
 * backpressure, drain. Steps of a "gated" model wait for permits, so the tests decide exactly when
 * the model runs.
 */
class GenerationServiceTest {
  @TempDir Path tmp;

  private final FakeModelLoader loader = new FakeModelLoader();
  private TestDaemon d;
  /** Readers that take nothing until told (2 KiB windows), on one connection; opened by {@link #held()}. */
  private HeldReader reader;

  @AfterEach
  void stop() {
    if (reader != null) {
      reader.close();
    }
    if (d != null) {
      d.close();
    }
  }

  private HeldReader held() {
    if (reader == null) {
      reader = HeldReader.connect(d.daemon.grpcPort(), 2048);
    }
    return reader;
  }

  /**
   * Waits until each of {@code streams} has received its whole window: then no write of the daemon's can complete, so
   * the daemon holds them for good, each paused with max_buffered_messages = 4 waiting for its reader (an explicit
   * condition, not a wait for decoding to settle).
   */
  private void awaitHeld(List<HeldReader.Stream> streams) {
    Awaits.until("every reader's window has arrived and decoding has stopped at the bound",
        () -> streams.stream().allMatch(x -> x.receivedBytes() == reader.window)
            && d.metric("edgelm_stream_paused", "") == streams.size()
            && d.metric("edgelm_stream_buffered_messages", "") == 4L * streams.size(),
        () -> streams.stream().map(x -> x.receivedBytes() + " B").toList() + " received; " + d.metrics());
  }

  private TestDaemon start(String model, Map<String, String> flags) {
    return start(DaemonRuntime.DEFAULTS.withLoader(loader), model, flags);
  }

  /** A daemon with {@code runtime} (e.g. an injected ticker or scheduler) serving {@code model} from the fake loader. */
  private TestDaemon start(DaemonRuntime runtime, String model, Map<String, String> flags) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("models." + model + ".path", FakeModelLoader.writePackage(tmp.resolve(model), model, 4096).toString());
    all.putAll(flags);
    d = TestDaemon.start(runtime, all);
    Awaits.until("the daemon is ready", d.daemon::ready);
    return d;
  }

  private static GenerateRequest request(String model, int maxTokens) {
    return GenerateRequest.newBuilder().setModel(model).setPrompt("ab").setMaxTokens(maxTokens).build();
  }

  /** A model whose every step waits for a permit. */
  private static FakeLanguageModel gated(FakeLanguageModel m, Semaphore permits) {
    return m.beforeAppend(n -> permits.acquireUninterruptibly());
  }

  @Test
  void generate_streamsTextThenFinishReasonUsageAndTimings() {
    loader.serve("tiny", () -> FakeModelLoader.saying(10, 64));
    start("tiny", Map.of());
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("ab").setRequestId("r-1").build());
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals("abcdabcdab", s.text());
    GenerateResponse first = s.messages.get(0);
    assertEquals("fp32", first.getVariant());
    assertEquals("r-1", first.getRequestId());
    GenerateResponse last = s.last();
    assertEquals(FinishReason.FINISH_REASON_STOP, last.getFinishReason());
    assertEquals(2, last.getUsage().getPromptTokens());
    assertEquals(11, last.getUsage().getCompletionTokens()); // ten tokens and EOS
    assertTrue(last.getTimings().getTotalMs() > 0);
    for (int i = 0; i < s.messages.size() - 1; i++) {
      assertEquals(FinishReason.FINISH_REASON_UNSPECIFIED, s.messages.get(i).getFinishReason(), "only the last message finishes");
    }
  }

  @Test
  void generate_maxTokens_finishesWithLength() {
    loader.serve("tiny", () -> FakeModelLoader.saying(100, 256));
    start("tiny", Map.of());
    TestDaemon.Stream s = d.generate(request("tiny", 5));
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals("abcda", s.text());
    assertEquals(FinishReason.FINISH_REASON_LENGTH, s.last().getFinishReason());
    assertEquals(5, s.last().getUsage().getCompletionTokens());
  }

  @Test
  void generate_logprobs_reportsEachTokenWithAlternatives() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start("tiny", Map.of());
    TestDaemon.Stream s = d.generate(request("tiny", 3).toBuilder().setLogprobs(2).build());
    assertEquals(GrpcStatus.OK, s.await().status());
    int tokens = 0;
    for (GenerateResponse m : s.messages) {
      assertEquals(m.getTokenIdsCount(), m.getLogprobsCount());
      for (int i = 0; i < m.getLogprobsCount(); i++) {
        assertEquals(m.getTokenIds(i), m.getLogprobs(i).getTokenId());
        assertEquals(2, m.getLogprobs(i).getTopCount());
        tokens++;
      }
    }
    assertEquals(3, tokens);
  }

  @Test
  void generate_unknownModel_givesNotFound() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start("tiny", Map.of());
    TestDaemon.Status st = d.generate(request("nope", 3)).await();
    assertEquals(GrpcStatus.NOT_FOUND, st.status());
    assertTrue(st.message().contains("tiny"), st.message());
  }

  @Test
  void generate_badInput_givesInvalidArgument() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 16));
    start("tiny", Map.of());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.generate(request("tiny", 3).toBuilder().setPrompt("").build()).await().status());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.generate(request("tiny", 3).toBuilder().setTemperature(-1).build()).await().status());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.generate(request("", 3)).await().status());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.generate(request("tiny", -1)).await().status());
    TestDaemon.Status tooLong = d.generate(request("tiny", 3).toBuilder().setPrompt("abababababababababab").build()).await();
    assertEquals(GrpcStatus.INVALID_ARGUMENT, tooLong.status());
    assertTrue(tooLong.message().contains("context"), tooLong.message());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.generate(request("tiny", 3).toBuilder().setPrompt("").addPromptTokenIds(9999).build()).await().status());
  }

  /** A valid request's bytes followed by a prompt field (2) whose bytes are not UTF-8. */
  static byte[] invalidUtf8Prompt(String model) {
    byte[] valid = request(model, 3).toBuilder().clearPrompt().build().toByteArray();
    byte[] bad = {0x12, 0x03, 'a', (byte) 0xC3, 0x28}; // field 2, length 3: "a", then a lead byte without its continuation
    byte[] out = java.util.Arrays.copyOf(valid, valid.length + bad.length);
    System.arraycopy(bad, 0, out, valid.length, bad.length);
    return out;
  }

  @Test
  void generate_unparseableRequest_givesInvalidArgument_countsIt_andReleasesTheStream() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start("tiny", Map.of());
    byte[][] malformed = {
        {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x01},
        {0x0A, 0x7F, 'x'}, // field 1 says 127 bytes follow; one does
        invalidUtf8Prompt("tiny"),
    };
    for (byte[] bytes : malformed) {
      TestDaemon.RawCall call = d.rawGenerate();
      call.write(TestDaemon.frame(bytes), true);
      TestDaemon.Status st = call.await();
      assertEquals(GrpcStatus.INVALID_ARGUMENT, st.status(), st.message());
      assertTrue(st.message().contains("not a valid GenerateRequest"), st.message());
    }
    String m = d.metrics();
    assertEquals(3, TestDaemon.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"INVALID_ARGUMENT\""));
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""));
    Awaits.until("no stream is in progress", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    assertEquals(GrpcStatus.OK, d.generate(request("tiny", 3)).await().status(), "the daemon serves on");
  }

  @Test
  void generate_cancelBeforeOrInsideTheRequestMessage_releasesTheStream() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start("tiny", Map.of());
    TestDaemon.RawCall headersOnly = d.rawGenerate();
    Awaits.until("the daemon holds the call", () -> d.metric("edgelm_stream_in_progress", "") == 1);
    headersOnly.reset();
    Awaits.until("the call is released", () -> d.metric("edgelm_stream_in_progress", "") == 0);

    TestDaemon.RawCall partial = d.rawGenerate();
    byte[] whole = TestDaemon.frame(request("tiny", 3).toByteArray()).getBytes();
    partial.write(io.vertx.core.buffer.Buffer.buffer(java.util.Arrays.copyOf(whole, whole.length / 2)), false);
    Awaits.until("the daemon holds the call", () -> d.metric("edgelm_stream_in_progress", "") == 1);
    partial.reset();
    Awaits.until("the call is released", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    assertEquals(2, d.metric("edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""), "a client cancel is CANCELLED");

    TestDaemon.RawCall halfClosedEarly = d.rawGenerate();
    halfClosedEarly.write(io.vertx.core.buffer.Buffer.buffer(java.util.Arrays.copyOf(whole, whole.length / 2)), true);
    assertEquals(GrpcStatus.INVALID_ARGUMENT, halfClosedEarly.await().status(), "the body ended inside a message");
    Awaits.until("the call is released", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    d.daemon.drain();
    d.daemon.terminated().join(); // nothing held: the drain does not wait for its timeout
  }

  @Test
  void generate_deadlineOfACallThatNeverSendsItsMessage_endsIt() {
    dev.edgelm.daemon.testing.ManualScheduler clock = new dev.edgelm.daemon.testing.ManualScheduler();
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start(DaemonRuntime.DEFAULTS.withLoader(loader).withScheduler(clock), "tiny", Map.of());
    TestDaemon.RawCall silent = d.rawGenerate(Map.of("grpc-timeout", "200m"));
    Awaits.until("the deadline is armed at arrival", () -> clock.pending() == 1);
    clock.advance(java.time.Duration.ofMillis(199));
    assertEquals(1, clock.pending(), "199 ms: not yet");
    clock.advance(java.time.Duration.ofMillis(1));
    assertEquals(GrpcStatus.DEADLINE_EXCEEDED, silent.await().status());
    Awaits.until("the call is released", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    assertEquals(1, d.metric("edgelm_requests_total", "rpc_grpc_status=\"DEADLINE_EXCEEDED\""));
  }

  @Test
  void generate_requestLargerThanTheLimit_givesResourceExhausted() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start("tiny", Map.of("server.max_request_bytes", "1024"));
    TestDaemon.Status st = d.generate(request("tiny", 3).toBuilder().setPrompt("a".repeat(4000)).build()).await();
    assertEquals(GrpcStatus.RESOURCE_EXHAUSTED, st.status());
    assertEquals(GrpcStatus.OK, d.generate(request("tiny", 3)).await().status(), "the daemon serves on");
  }

  @Test
  void generate_outputCappedByContext_finishesWithLength() {
    loader.serve("tiny", () -> FakeModelLoader.saying(100, 256));
    start("tiny", Map.of("generation.max_context", "10"));
    TestDaemon.Stream s = d.generate(request("tiny", 50));
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals(FinishReason.FINISH_REASON_LENGTH, s.last().getFinishReason());
    assertEquals(8, s.last().getUsage().getCompletionTokens()); // 2 prompt + 8 = the capped context of 10
  }

  @Test
  void generate_eightConcurrentStreams_allCompleteWithTheirText() {
    loader.serve("tiny", () -> FakeModelLoader.saying(200, 512));
    start("tiny", Map.of("models.tiny.max_concurrent", "3", "models.tiny.max_queued", "8", "generation.workers", "2"));
    List<TestDaemon.Stream> streams = new ArrayList<>();
    for (int i = 0; i < 8; i++) {
      streams.add(d.generate(request("tiny", 100 + i)));
    }
    for (int i = 0; i < 8; i++) {
      TestDaemon.Stream s = streams.get(i);
      assertEquals(GrpcStatus.OK, s.await().status());
      assertEquals(100 + i, s.text().length());
      assertEquals(100 + i, s.last().getUsage().getCompletionTokens());
    }
  }

  @Test
  void generate_queueFull_givesResourceExhausted() {
    Semaphore permits = new Semaphore(0);
    loader.serve("tiny", () -> gated(FakeModelLoader.saying(5, 64), permits));
    start("tiny", Map.of("models.tiny.max_concurrent", "1", "models.tiny.max_queued", "1"));
    TestDaemon.Stream running = d.generate(request("tiny", 5));
    Awaits.until("the first stream runs", () -> d.metric("edgelm_active_streams", "tiny") == 1);
    TestDaemon.Stream queued = d.generate(request("tiny", 5));
    Awaits.until("the second stream waits", () -> d.metric("edgelm_queue_depth", "tiny") == 1);
    TestDaemon.Status refused = d.generate(request("tiny", 5)).await();
    assertEquals(GrpcStatus.RESOURCE_EXHAUSTED, refused.status());
    assertTrue(refused.message().contains("max_queued"), refused.message());
    permits.release(1000);
    assertEquals(GrpcStatus.OK, running.await().status());
    assertEquals(GrpcStatus.OK, queued.await().status());
    assertTrue(queued.last().getTimings().getQueueMs() > 0);
  }

  @Test
  void generate_clientCancel_stopsDecodingWithinOneStep() {
    Semaphore permits = new Semaphore(0);
    FakeLanguageModel model = gated(FakeModelLoader.saying(1000, 2048), permits);
    loader.serve("tiny", () -> model);
    start("tiny", Map.of());
    TestDaemon.Stream s = d.generate(request("tiny", 1000));
    permits.release(3);
    Awaits.until("three tokens arrive", () -> s.messages.size() == 3);
    Awaits.until("the fourth step is running", () -> model.appendCalls() == 4);
    s.cancel();
    Awaits.until("the daemon sees the cancel", () -> d.metric("edgelm_stream_cancelling", "") == 1);
    permits.release(1000); // the step in progress may now end; no further step may run
    Awaits.until("the slot is free", () -> d.metric("edgelm_active_streams", "tiny") == 0 && d.metric("edgelm_stream_cancelling", "") == 0);
    assertEquals(4, model.appendCalls(), "only the step running at the cancel completed");
    assertEquals(0, model.openSequences(), "the sequence is closed");
    String m = d.metrics();
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_generation_steps_after_cancel_count", "tiny"));
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_generation_steps_after_cancel_sum", "tiny"), "no step started after the cancel");
    assertEquals(4, TestDaemon.metricValue(m, "edgelm_generated_tokens_total", "tiny"));
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""));
  }

  @Test
  void generate_deadline_givesDeadlineExceeded() {
    Semaphore permits = new Semaphore(0);
    FakeLanguageModel model = gated(FakeModelLoader.saying(1000, 2048), permits);
    loader.serve("tiny", () -> model);
    start("tiny", Map.of());
    permits.release(1);
    TestDaemon.Stream s = d.generate(request("tiny", 1000), Map.of(), 300);
    TestDaemon.Status st = s.await(); // the second step waits for a permit that only comes after the deadline
    assertEquals(GrpcStatus.DEADLINE_EXCEEDED, st.status());
    permits.release(1000);
    Awaits.until("the slot is free", () -> d.metric("edgelm_active_streams", "tiny") == 0 && d.metric("edgelm_stream_cancelling", "") == 0);
    assertEquals(2, model.appendCalls(), "the step running at the deadline completed, no other");
    assertEquals(1, d.metric("edgelm_requests_total", "DEADLINE_EXCEEDED"));
  }

  @Test
  void generate_slowReader_pausesDecodingWithinTheBufferBound() {
    FakeLanguageModel model = FakeModelLoader.saying(20_000, 30_000);
    loader.serve("tiny", () -> model);
    start("tiny", Map.of("generation.max_buffered_messages", "4"));
    // The reader takes nothing: decoding runs on until its HTTP/2 window is full and the daemon holds
    // max_buffered_messages, then stops.
    HeldReader.Stream s = held().generate(request("tiny", 20_000));
    awaitHeld(List.of(s));
    long appends = model.appendCalls();
    assertEquals(1, d.metric("edgelm_stream_paused", ""), "the stream is paused, holding no worker");
    assertTrue(appends < 2_000, "decoding ran " + appends + " steps ahead of a reader that stopped");
    assertEquals(4, d.metric("edgelm_stream_buffered_messages", ""), "max_buffered_messages are waiting for the reader");
    assertTrue(d.metric("edgelm_stream_buffered_messages_max", "") <= 4, "buffered messages stayed within generation.max_buffered_messages");
    s.resume();
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals(20_000, s.text().length());
    assertTrue(d.metric("edgelm_stream_buffered_messages_max", "") <= 4);
  }

  /** {@code n} streams held by readers that take nothing, each paused with max_buffered_messages = 4 waiting for it. */
  private List<HeldReader.Stream> pausedAtTheBound(int n) {
    List<HeldReader.Stream> streams = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      streams.add(held().generate(request("tiny", 20_000)));
    }
    awaitHeld(streams);
    assertEquals(n, d.metric("edgelm_stream_paused", ""), "the streams are paused");
    assertEquals(4 * n, d.metric("edgelm_stream_buffered_messages", ""), "max_buffered_messages wait for each reader");
    return streams;
  }

  @Test
  void generate_pausedStreamCancelledByItsClient_bufferNeverPassesTheBound() {
    FakeLanguageModel model = FakeModelLoader.saying(20_000, 30_000);
    loader.serve("tiny", () -> model);
    start("tiny", Map.of("generation.max_buffered_messages", "4"));
    HeldReader.Stream s = pausedAtTheBound(1).get(0);
    s.cancel();
    Awaits.until("the stream ends", () -> d.metric("edgelm_stream_in_progress", "") == 0 && d.metric("edgelm_active_streams", "tiny") == 0);
    String m = d.metrics();
    assertEquals(4, TestDaemon.metricValue(m, "edgelm_stream_buffered_messages_max", ""), "the cancel's last message is never written: not buffered");
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_stream_buffered_messages", ""));
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_stream_paused", ""));
  }

  @Test
  void drain_pausedStream_endsWithItsLastMessage_withinTheBufferBound() {
    FakeLanguageModel model = FakeModelLoader.saying(20_000, 30_000);
    loader.serve("tiny", () -> model);
    start("tiny", Map.of("generation.max_buffered_messages", "4", "server.drain_timeout", "1ms"));
    List<HeldReader.Stream> paused = pausedAtTheBound(2);
    d.daemon.drain();
    Awaits.until("the drain cancels the streams", () -> d.metric("edgelm_stream_cancelling", "") == 2);
    assertEquals(4, d.metric("edgelm_stream_buffered_messages_max", ""), "their last messages wait for room");
    HeldReader.Stream reading = paused.get(0);
    reading.resume();
    assertEquals(GrpcStatus.OK, reading.await().status());
    assertEquals(FinishReason.FINISH_REASON_CANCELLED, reading.last().getFinishReason());
    // The second stream still holds the drain (and the metrics port) open.
    assertEquals(4, d.metric("edgelm_stream_buffered_messages_max", ""), "the last message was written within the bound");
    paused.get(1).cancel();
    d.daemon.terminated().join();
  }

  @Test
  void generate_clientResetAtItsDeadline_isCountedAsDeadlineExceeded() {
    java.util.concurrent.atomic.AtomicLong now = new java.util.concurrent.atomic.AtomicLong();
    Semaphore permits = new Semaphore(0);
    loader.serve("tiny", () -> gated(FakeModelLoader.saying(1000, 2048), permits));
    start(DaemonRuntime.DEFAULTS.withLoader(loader).withTicker(now::get), "tiny", Map.of());
    io.vertx.core.buffer.Buffer body = TestDaemon.frame(request("tiny", 1000).toByteArray());
    // grpc-java resets the stream (RST_STREAM CANCEL, as a cancel does) when its deadline passes; that
    // reset reaches the daemon about when the daemon's own timer would fire, often a little before it.
    TestDaemon.RawCall atDeadline = d.rawGenerate(Map.of("grpc-timeout", "60S"));
    atDeadline.write(body, true);
    Awaits.until("the call runs", () -> d.metric("edgelm_active_streams", "tiny") == 1);
    now.addAndGet(java.time.Duration.ofSeconds(60).minusMillis(5).toNanos());
    atDeadline.reset();
    Awaits.until("the daemon sees the reset", () -> d.metric("edgelm_stream_cancelling", "") == 1);
    permits.release(10_000); // the step in progress may end
    Awaits.until("the call ends", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    permits.drainPermits();
    assertEquals(1, d.metric("edgelm_requests_total", "rpc_grpc_status=\"DEADLINE_EXCEEDED\""));
    assertEquals(0, d.metric("edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""));

    TestDaemon.RawCall early = d.rawGenerate(Map.of("grpc-timeout", "60S"));
    early.write(body, true);
    Awaits.until("the call runs", () -> d.metric("edgelm_active_streams", "tiny") == 1);
    now.addAndGet(java.time.Duration.ofSeconds(30).toNanos());
    early.reset();
    Awaits.until("the daemon sees the reset", () -> d.metric("edgelm_stream_cancelling", "") == 1);
    permits.release(10_000);
    Awaits.until("the call ends", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    assertEquals(1, d.metric("edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""), "half way to its deadline, a reset is a cancel");
  }

  @Test
  void generate_readerStalledPastTheStallTimeout_isResetAndItsSlotFreed() {
    dev.edgelm.daemon.testing.ManualScheduler clock = new dev.edgelm.daemon.testing.ManualScheduler();
    FakeLanguageModel model = FakeModelLoader.saying(20_000, 30_000);
    loader.serve("tiny", () -> model);
    start(DaemonRuntime.DEFAULTS.withLoader(loader).withScheduler(clock), "tiny", Map.of("models.tiny.max_concurrent", "1",
        "models.tiny.max_queued", "1", "generation.max_buffered_messages", "4", "generation.stall_timeout", "30s"));
    HeldReader.Stream stalled = pausedAtTheBound(1).get(0);
    Awaits.until("the stall timer is armed", () -> clock.pending() == 1);

    clock.advance(java.time.Duration.ofSeconds(29));
    assertEquals(1, clock.pending(), "29 s: not yet");
    assertEquals(1, d.metric("edgelm_stream_paused", ""));
    assertEquals(1, d.metric("edgelm_active_streams", "tiny"), "it still holds the only slot");
    clock.advance(java.time.Duration.ofSeconds(1));
    assertEquals(GrpcStatus.CANCELLED, stalled.await().status(), "the stalled stream was reset");
    assertEquals(GrpcStatus.OK, d.generate(request("tiny", 5)).await().status(), "its slot is free");
    Awaits.until("the stalled stream is released", () -> d.metric("edgelm_stream_in_progress", "") == 0);
    String m = d.metrics();
    assertEquals(1, TestDaemon.metricValue(m, "edgelm_stream_stalled_total", "tiny"));
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_stream_paused", ""));
    assertEquals(0, TestDaemon.metricValue(m, "edgelm_stream_buffered_messages", ""));
  }

  @Test
  void generate_pausedStreamLendsItsSlotToAWaitingCall_thenFinishesWhenItsReaderCatchesUp() throws InterruptedException {
    java.util.concurrent.CountDownLatch gate = new java.util.concurrent.CountDownLatch(1);
    FakeLanguageModel model = FakeModelLoader.saying(20_000, 30_000).beforeAppend(call -> {
      if (call == 3) {
        try {
          gate.await();
        } catch (InterruptedException e) {
          Thread.currentThread().interrupt();
        }
      }
    });
    loader.serve("tiny", () -> model);
    start("tiny", Map.of("models.tiny.max_concurrent", "1", "models.tiny.max_queued", "1", "generation.max_buffered_messages", "4"));
    TestDaemon.Stream slow = d.generate(request("tiny", 3_000));
    Awaits.until("the first message arrives", () -> !slow.messages.isEmpty());
    slow.pause(); // its reader stops taking messages
    TestDaemon.Stream waiting = d.generate(request("tiny", 5));
    Awaits.until("the second call waits for the only slot", () -> d.metric("edgelm_queue_depth", "tiny") == 1);
    gate.countDown(); // the slow stream runs on until its reader pushes back, then pauses with a call waiting

    TestDaemon.Status w = waiting.await();
    assertEquals(GrpcStatus.OK, w.status(), "the waiting call got the paused stream's slot: " + w);
    assertEquals(5, waiting.last().getUsage().getCompletionTokens());
    assertFalse(slow.done.isDone(), "the slow stream is still paused");
    assertEquals(1, d.metric("edgelm_stream_yielded_total", "tiny"), d.metrics());

    slow.resume();
    TestDaemon.Status s = slow.await();
    assertEquals(GrpcStatus.OK, s.status(), s.toString());
    assertEquals(3_000, slow.last().getUsage().getCompletionTokens(), "it went on where it stopped, to its max_tokens");
    assertEquals(3_000, slow.messages.stream().mapToInt(GenerateResponse::getTokenIdsCount).sum());
    Awaits.until("every sequence is closed", () -> model.openSequences() == 0);
    assertEquals(0, d.metric("edgelm_active_streams", "tiny"));
  }

  @Test
  void generate_callArrivingWhileAStreamIsPaused_getsItsSlotAtOnce() {
    FakeLanguageModel model = FakeModelLoader.saying(20_000, 30_000);
    loader.serve("tiny", () -> model);
    start("tiny", Map.of("models.tiny.max_concurrent", "1", "models.tiny.max_queued", "1", "generation.max_buffered_messages", "4"));
    HeldReader.Stream paused = pausedAtTheBound(1).get(0); // paused before anyone waited
    TestDaemon.Status s = d.generate(request("tiny", 5)).await();
    assertEquals(GrpcStatus.OK, s.status(), s.toString());
    assertFalse(paused.done.isDone(), "the paused stream is still waiting for its reader");
    assertEquals(1, d.metric("edgelm_stream_yielded_total", "tiny"));
    paused.cancel();
    Awaits.until("the lender ends without a slot", () -> d.metric("edgelm_stream_in_progress", "") == 0
        && d.metric("edgelm_active_streams", "tiny") == 0);
  }

  @Test
  void generate_readerThatResumesBeforeTheStallTimeout_isNotCancelled() {
    dev.edgelm.daemon.testing.ManualScheduler clock = new dev.edgelm.daemon.testing.ManualScheduler();
    FakeLanguageModel model = FakeModelLoader.saying(2_000, 30_000);
    loader.serve("tiny", () -> model);
    start(DaemonRuntime.DEFAULTS.withLoader(loader).withScheduler(clock), "tiny",
        Map.of("generation.max_buffered_messages", "4", "generation.stall_timeout", "30s"));
    TestDaemon.Stream s = d.generate(request("tiny", 2_000));
    Awaits.until("the first message arrives", () -> !s.messages.isEmpty());
    s.pause();
    Awaits.until("the stall timer is armed", () -> clock.pending() == 1);
    clock.advance(java.time.Duration.ofSeconds(29));
    s.resume(); // each later pause restarts the timer; the one that reached 29 s is disarmed
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals(2_000, s.text().length());
    clock.advance(java.time.Duration.ofSeconds(60));
    assertEquals(0, d.metric("edgelm_stream_stalled_total", "tiny"));
  }

  @Test
  void generate_whileModelLoads_givesUnavailable_andHealthNotServing() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64)).closeGate();
    Map<String, String> flags = Map.of("models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString());
    d = TestDaemon.start(loader, flags);
    assertEquals(GrpcStatus.UNAVAILABLE, d.generate(request("tiny", 3)).await().status());
    assertEquals(503, d.get("/readyz").statusCode());
    assertEquals(200, d.get("/healthz").statusCode());
    loader.openGate();
    Awaits.until("ready", d.daemon::ready);
    assertEquals(200, d.get("/readyz").statusCode());
    assertEquals(GrpcStatus.OK, d.generate(request("tiny", 3)).await().status());
  }

  @Test
  void generate_withApiKeys_deniesWithoutAValidKey() {
    loader.serve("tiny", () -> FakeModelLoader.saying(3, 64));
    start("tiny", Map.of("auth.api_keys", "key-one-123,key-two-456"));
    assertEquals(GrpcStatus.UNAUTHENTICATED, d.generate(request("tiny", 3)).await().status());
    TestDaemon.Status wrong = d.generate(request("tiny", 3), Map.of("authorization", "Bearer nope-nope-nope"), 0).await();
    assertEquals(GrpcStatus.UNAUTHENTICATED, wrong.status());
    assertTrue(wrong.message().contains("not valid"), wrong.message());
    assertEquals(GrpcStatus.OK, d.generate(request("tiny", 3), Map.of("authorization", "Bearer key-two-456"), 0).await().status());
    assertEquals(GrpcStatus.OK, d.generate(request("tiny", 3), Map.of("x-api-key", "key-one-123"), 0).await().status());
    assertEquals(2, d.metric("edgelm_auth_rejected_total", ""));
  }

  @Test
  void drain_cancelsStreamsAtTheTimeout_refusesNewOnes_andStops() {
    loader.serve("tiny", () -> FakeModelLoader.saying(1_000_000, 2_000_000));
    start("tiny", Map.of("server.drain_timeout", "300ms"));
    TestDaemon.Stream s = d.generate(request("tiny", 1_000_000));
    Awaits.until("tokens flow", () -> s.messages.size() > 10);
    d.daemon.drain();
    assertEquals(GrpcStatus.UNAVAILABLE, d.generate(request("tiny", 3)).await().status());
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals(FinishReason.FINISH_REASON_CANCELLED, s.last().getFinishReason());
    d.daemon.terminated().join();
    assertEquals(1, loader.closes(), "the model was released");
  }
}
