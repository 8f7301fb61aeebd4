package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerationGrpc;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The bounded abuse test of issue 18's acceptance, against {@code edgelmd} as a separate process
 * serving stories260K: an independent client (grpc-java) floods it with 5,000 malformed Generate
 * requests while a few slow readers hold streams paused for backpressure, then sends normal
 * requests. Every normal request completes, every malformed one gets INVALID_ARGUMENT and is counted
 * so, no stream is left in progress, the heap after a full GC returns within 10 % of where it started,
 * and SIGTERM exits 0 in under 2 s. Needs {@code ../shared} (skips without it).
 */
class AbuseIT {
  private static final int MALFORMED = 5_000;
  private static final int IN_FLIGHT = 64;
  /** As many as the model's max_concurrent: only slots the slow readers lend let anyone else in. */
  private static final int SLOW_READERS = 4;
  private static final int NORMAL = 8;

  @TempDir static Path work;

  private DaemonProcess daemon;
  private final List<ManagedChannel> channels = new ArrayList<>();

  @AfterEach
  void stop() {
    channels.forEach(ManagedChannel::shutdownNow);
    if (daemon != null) {
      daemon.close();
    }
  }

  private static GenerateRequest request(String prompt, int maxTokens) {
    return GenerateRequest.newBuilder().setModel("stories").setPrompt(prompt).setMaxTokens(maxTokens).build();
  }

  private ManagedChannel channel(int window) {
    ManagedChannel c = daemon.channel(window);
    channels.add(c);
    return c;
  }

  @Test
  void abuse_malformedFloodAndSlowReaders_normalRequestsComplete_heapReturns_sigtermExitsQuickly() throws Exception {
    Path config = work.resolve("edgelmd.yaml");
    Files.writeString(config, """
        server:
          host: 127.0.0.1
          grpc_port: 0
          http_port: 0
          drain_timeout: 5s
        generation:
          max_buffered_messages: 16
        models:
          stories:
            path: %s
            max_concurrent: 4
            max_queued: 16
            pin: true
        """.formatted(ItModels.stories260K()));
    daemon = DaemonProcess.start(config, work.resolve("d"));
    Await.until("the daemon is ready", () -> daemon.get("/readyz").statusCode() == 200, daemon::log);
    ManagedChannel channel = channel(0);
    for (int i = 0; i < 3; i++) { // warm up: classes loaded, sessions and JIT settled, before the baseline
      assertEquals(Status.OK, RawGenerate.call(channel, request("Once upon a time", 100).toByteArray()));
      assertEquals(Status.Code.INVALID_ARGUMENT, RawGenerate.call(channel, RawGenerate.garbage()).getCode());
    }
    long heapBefore = daemon.heapUsedAfterGc();

    // Slow readers: a 1 KiB HTTP/2 window and one message at a time, so decoding pauses for them.
    ManagedChannel small = channel(1024);
    List<ManualStream> slow = new ArrayList<>();
    for (int i = 0; i < SLOW_READERS; i++) {
      slow.add(ManualStream.start(small, CallOptions.DEFAULT, request("Once upon a time", 400), new Metadata(), 1));
    }
    Await.until("the slow readers' streams pause", () -> daemon.metric("edgelm_stream_paused", "") == SLOW_READERS, daemon::metrics);
    ScheduledExecutorService reader = Executors.newSingleThreadScheduledExecutor();
    reader.scheduleAtFixedRate(() -> slow.forEach(s -> s.request(1)), 300, 300, TimeUnit.MILLISECONDS);

    byte[] valid = request("Once", 3).toByteArray();
    byte[][] kinds = {RawGenerate.garbage(), RawGenerate.invalidUtf8Prompt(valid)};
    Map<Status.Code, Integer> codes = new EnumMap<>(Status.Code.class);
    Semaphore inFlight = new Semaphore(IN_FLIGHT);
    long floodStart = System.nanoTime();
    for (int i = 0; i < MALFORMED; i++) {
      inFlight.acquire();
      RawGenerate.start(channel, kinds[i % kinds.length]).whenComplete((st, e) -> {
        synchronized (codes) {
          codes.merge(st == null ? Status.Code.UNKNOWN : st.getCode(), 1, Integer::sum);
        }
        inFlight.release();
      });
    }
    inFlight.acquire(IN_FLIGHT);
    inFlight.release(IN_FLIGHT);
    long floodMillis = (System.nanoTime() - floodStart) / 1_000_000;
    assertEquals(Map.of(Status.Code.INVALID_ARGUMENT, MALFORMED), codes);

    List<CompletableFuture<String>> normal = new ArrayList<>();
    for (int i = 0; i < NORMAL; i++) {
      GenerateRequest r = request("Once upon a time", 50 + i);
      normal.add(CompletableFuture.supplyAsync(() -> {
        StringBuilder text = new StringBuilder();
        GenerationGrpc.newBlockingStub(channel).generate(r).forEachRemaining(m -> text.append(m.getText()));
        return text.toString();
      }));
    }
    for (CompletableFuture<String> f : normal) {
      assertFalse(f.get(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS).isEmpty(), "a normal request completed with text");
    }
    assertTrue(slow.stream().noneMatch(s -> s.closed.isDone()), "the normal requests did not wait for the slow readers to finish");
    assertTrue(daemon.metric("edgelm_stream_yielded_total", "stories") >= 1, "slow readers lent their slots");
    reader.shutdownNow();
    slow.forEach(s -> s.request(Integer.MAX_VALUE));
    for (ManualStream s : slow) {
      assertEquals(Status.Code.OK, s.await().getCode(), "a slow reader's stream completes once it reads");
    }

    Await.until("no stream is in progress", () -> daemon.metric("edgelm_stream_in_progress", "") == 0, daemon::metrics);
    String m = daemon.metrics();
    assertEquals(MALFORMED + 3, DaemonProcess.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"INVALID_ARGUMENT\""), m);
    assertEquals(0, DaemonProcess.metricValue(m, "edgelm_requests_total", "rpc_grpc_status=\"CANCELLED\""), m);
    assertEquals(0, DaemonProcess.metricValue(m, "edgelm_stream_paused", ""), m);
    long logLines = daemon.log().lines().filter(l -> l.contains("not a valid GenerateRequest")).count();
    assertTrue(logLines >= 1 && logLines < 50, "malformed requests are logged, throttled: " + logLines + " lines");

    long heapAfter = daemon.heapUsedAfterGc();
    System.out.printf("AbuseIT: %d malformed requests in %d ms; heap after GC %d KiB before, %d KiB after (%+.1f %%); %d log lines%n",
        MALFORMED, floodMillis, heapBefore / 1024, heapAfter / 1024, 100.0 * (heapAfter - heapBefore) / heapBefore, logLines);
    assertTrue(heapAfter <= heapBefore * 1.10, "heap after GC " + heapAfter + " B vs " + heapBefore + " B before the abuse");

    long t0 = System.nanoTime();
    daemon.sigterm();
    int exit = daemon.awaitExit();
    long stopMillis = (System.nanoTime() - t0) / 1_000_000;
    System.out.printf("AbuseIT: SIGTERM to exit %d ms%n", stopMillis);
    assertEquals(0, exit, daemon.log());
    assertTrue(stopMillis < 2_000, "SIGTERM took " + stopMillis + " ms to exit");
  }
}
