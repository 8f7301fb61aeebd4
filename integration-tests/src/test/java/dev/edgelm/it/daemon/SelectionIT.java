package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.PackageLayer;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.hub.testing.LoopbackProxy;
import dev.edgelm.hub.testing.RegistryProcess;
import dev.edgelm.it.testing.EdgelmCommand;
import dev.edgelm.proto.v1.DescribeModelRequest;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpc;
import dev.edgelm.proto.v1.ModelInfo;
import dev.edgelm.proto.v1.ModelState;
import dev.edgelm.proto.v1.ModelsGrpc;
import dev.edgelm.proto.v1.VariantOutcome;
import io.grpc.CallOptions;
import io.grpc.ManagedChannel;
import io.grpc.Metadata;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/**
 * Capability-driven variant selection end to end, every piece a separate process on 127.0.0.1:
 * {@code ./edgelm synth}, {@code import} and {@code compress} make fp32, int8, int4 and pruned int4
 * ({@code prune,int4}: fewer heads, KV heads and FFN channels per layer) variants of a small Llama, {@code ./edgelm publish} puts them in Debian's {@code docker-registry} as one release
 * under the moving tag {@code :stable}, and {@code edgelmd} started with a host profile (the
 * {@code host.*} keys) selects a variant before downloading weights, pulls exactly that one (checked in
 * the access log of a proxy in front of the registry), and streams tokens to a grpc-java client. Then a
 * new release is published under the same tag, and the daemon swaps to it while a stream started on
 * the old variant finishes. A second daemon on a host too small for any variant fails with
 * FAILED_PRECONDITION and fetches no weight blob.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class SelectionIT {
  private static final Duration CLI_TIMEOUT = Duration.ofMinutes(5);
  private static final Pattern BLOB = Pattern.compile("/blobs/(sha256:[0-9a-f]{64})");

  @TempDir static Path work;

  private RegistryProcess registry;
  private LoopbackProxy proxy;
  private Path fp32;
  private boolean compressAvailable;
  private final Map<String, Path> v1 = new LinkedHashMap<>();

  @BeforeAll
  void start() throws Exception {
    registry = RegistryProcess.start(work.resolve("registry"));
    proxy = LoopbackProxy.start(registry.port(), LoopbackProxy.Fault.none());
    edgelm("synth", "--preset", "llama-tiny", "--seed", "1", "--out", work.resolve("ckpt-v1").toString());
    fp32 = work.resolve("v1/fp32");
    edgelm("import", work.resolve("ckpt-v1").toString(), "--name", "tiny", "--out", fp32.toString());
    v1.put("fp32", fp32);
    compressAvailable = edgelm("--help").out().lines().anyMatch(l -> l.strip().startsWith("compress "));
    if (compressAvailable) {
      v1.put("int8", compress(fp32, "int8", "int8", work.resolve("v1/int8")));
      v1.put("int4", compress(fp32, "int4", "int4", work.resolve("v1/int4")));
      // Structurally pruned, then quantized: fewer bytes per token than int4 and a smaller KV cache.
      edgelm("compress", "--model", fp32.toString(), "--method", "prune,int4", "--target-ratio", "0.3", "--calib",
          SharedAssets.require("corpora/tinyshakespeare.txt").toString(), "--calib-sequences", "4", "--calib-length", "64",
          "--id", "prune-int4", "--out", work.resolve("v1/prune-int4").toString(), "--threads", "1");
      v1.put("prune-int4", work.resolve("v1/prune-int4"));
    }
    List<String> publish = new ArrayList<>(List.of("publish"));
    v1.values().forEach(p -> publish.add(p.toString()));
    publish.addAll(List.of("--to", registry.authority() + "/models/tiny:stable", "--store", work.resolve("publisher-store").toString()));
    edgelm(publish.toArray(String[]::new));
  }

  @AfterAll
  void stop() throws IOException {
    if (proxy != null) {
      proxy.close();
    }
    if (registry != null) {
      registry.close();
    }
  }

  private static EdgelmCommand.Result edgelm(String... args) throws IOException, InterruptedException {
    return EdgelmCommand.run(work, CLI_TIMEOUT, args).assertSuccess();
  }

  private static Path compress(Path base, String method, String id, Path out) throws IOException, InterruptedException {
    edgelm("compress", "--model", base.toString(), "--method", method, "--id", id, "--out", out.toString(), "--threads", "1");
    return out;
  }

  /** Layer digests of each variant of the release at {@code tag}, read straight from the registry (not through the proxy). */
  private Map<String, Set<String>> layers(String tag) {
    Map<String, Set<String>> out = new LinkedHashMap<>();
    try (Hub hub = Hub.open(HubOptions.defaults(work.resolve("inspector-store")))) {
      Release r = hub.resolve(Reference.parse(registry.authority() + "/models/tiny:" + tag));
      for (VariantEntry e : r.variants()) {
        out.put(e.id(), hub.details(r, e.id()).files().stream().map(PackageLayer::digest).map(Object::toString).collect(Collectors.toSet()));
      }
    }
    return out;
  }

  /** Blob digests the proxy served with a body, since its log was last cleared. */
  private Set<String> blobsFetched() {
    Set<String> out = new HashSet<>();
    for (LoopbackProxy.Exchange e : proxy.exchanges()) {
      Matcher m = BLOB.matcher(e.path());
      if (e.isBlobGet() && e.bodyBytes() > 0 && m.find()) {
        out.add(m.group(1));
      }
    }
    return out;
  }

  /** A daemon configuration whose {@code host:} section holds {@code hostProfile} (key lines) besides its cache dir. */
  private Path daemonConfig(String name, String hostProfile, String extra) throws IOException {
    Path config = work.resolve(name + ".yaml");
    Files.writeString(config, """
        server: {grpc_port: 0, http_port: 0, drain_timeout: 5s}
        generation: {max_buffered_messages: 2}
        hub: {store: %s, poll_interval: 1s}
        host:
          cache_dir: %s
        %s
        models:
          tiny:
            ref: %s/models/tiny:stable
            max_concurrent: 2
        %s
        """.formatted(work.resolve(name + "-store"), work.resolve(name + "-cache"), hostProfile.indent(2).stripTrailing(),
        proxy.authority(), extra));
    return config;
  }

  private static ModelInfo describe(ManagedChannel ch) {
    return ModelsGrpc.newBlockingStub(ch).describe(DescribeModelRequest.newBuilder().setName("tiny").build());
  }

  private static List<Integer> greedyIds(Path pkg, List<Integer> prompt, int maxTokens) {
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(pkg), SessionSettings.DEFAULTS)) {
      GenerationResult r = Generation.stream(m, GenerationRequest.ofIds(prompt.stream().mapToInt(Integer::intValue).toArray())
          .withMaxTokens(maxTokens), t -> { });
      return Arrays.stream(r.tokenIds()).boxed().toList();
    }
  }

  private static GenerateRequest request(int maxTokens) {
    return GenerateRequest.newBuilder().setModel("tiny").addAllPromptTokenIds(List.of(1, 20, 30)).setMaxTokens(maxTokens).build();
  }

  private static List<Integer> ids(List<GenerateResponse> messages) {
    List<Integer> out = new ArrayList<>();
    messages.forEach(r -> out.addAll(r.getTokenIdsList()));
    return out;
  }

  @Test
  void sigterm_whileFollowingATag_exitsWithoutWaitingForTheNextCheck() throws Exception {
    Path config = daemonConfig("follow-host", """
        memory: 4GiB
        memory_bandwidth: 10GiB/s
        """, "");
    Files.writeString(config, Files.readString(config).replace("poll_interval: 1s", "poll_interval: 1h"));
    try (DaemonProcess d = DaemonProcess.start(config, work.resolve("follow-host"))) {
      Await.until("the daemon is ready", () -> d.get("/readyz").statusCode() == 200, d::log);
      long start = System.nanoTime();
      d.sigterm();
      assertEquals(0, d.awaitExit(), d.log());
      Duration stop = Duration.ofNanos(System.nanoTime() - start);
      // Before the fix the pending hourly check held the stop for 10 s; a path model stops in ~50 ms.
      assertTrue(stop.compareTo(Duration.ofSeconds(5)) < 0, "stopping took " + stop.toMillis() + " ms; log:\n" + d.log());
    }
  }

  @Test
  void nothingFits_failedPreconditionWithoutFetchingAWeightBlob() throws Exception {
    Map<String, Set<String>> layers = layers("stable");
    proxy.clearLog();
    Path config = daemonConfig("tiny-host", """
        memory: 8MiB
        memory_bandwidth: 10GiB/s
        """, "");
    try (DaemonProcess d = DaemonProcess.start(config, work.resolve("tiny-host"))) {
      ManagedChannel ch = d.channel(0);
      try {
        Await.until("the selection fails", () -> describe(ch).getState() == ModelState.MODEL_STATE_FAILED, d::log);
        ModelInfo info = describe(ch);
        assertTrue(info.getError().startsWith("no variant of 127.0.0.1:"), info.getError());
        assertTrue(info.getError().contains("fp32: needs") && info.getError().contains("more than the memory budget of 8.0 MiB"), info.getError());
        assertEquals(v1.size(), info.getSelection().getVariantsCount());
        assertTrue(info.getSelection().getVariantsList().stream().allMatch(v -> v.getOutcome() == VariantOutcome.VARIANT_OUTCOME_REJECTED));
        StatusRuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(StatusRuntimeException.class,
            () -> GenerationGrpc.newBlockingStub(ch).generate(request(3)).hasNext());
        assertEquals(Status.Code.FAILED_PRECONDITION, e.getStatus().getCode());
        assertTrue(e.getStatus().getDescription().contains("no variant of"), e.getStatus().getDescription());
        Set<String> anyLayer = layers.values().stream().flatMap(Set::stream).collect(Collectors.toSet());
        Set<String> fetched = blobsFetched();
        fetched.retainAll(anyLayer);
        assertEquals(Set.of(), fetched, "no layer (weights, graph or tokenizer) was downloaded; exchanges: " + proxy.exchanges());
        assertEquals(503, d.get("/readyz").statusCode());
      } finally {
        ch.shutdownNow();
      }
    }
  }

  @Test
  void endToEnd_pullsOnlyTheChosenVariantStreamsAndSwapsOnANewReleaseWithoutFailingAStream() throws Exception {
    Assumptions.assumeTrue(compressAvailable, "needs 'edgelm compress' (the quantization work) to make int8 and int4 variants");
    Map<String, Set<String>> layers = layers("stable");
    proxy.clearLog();
    // A host without VNNI: the int8 kernels widen bytes to 16 bits first, int4 wins on bytes read.
    Path config = daemonConfig("avx2-host", """
        arch: x86_64
        cpu_features: sse4_2,avx,avx2,fma
        memory: 4GiB
        memory_bandwidth: 10GiB/s
        """, "");
    try (DaemonProcess d = DaemonProcess.start(config, work.resolve("avx2-host"))) {
      ManagedChannel ch = d.channel(1024);
      try {
        Await.until("the daemon is ready", () -> d.get("/readyz").statusCode() == 200, d::log);
        ModelInfo info = describe(ch);
        String chosen = info.getSelection().getChosen();
        // The pruned int4 variant reads the fewest bytes per token: the selector ranks it first and the daemon serves it.
        assertEquals("prune-int4", chosen, info.getSelection().toString());
        assertEquals(chosen, info.getSource().getHub().getVariant());
        assertTrue(info.getSelection().getReason().contains("int4 MatMulNBits accuracy_level=4 without VNNI"), info.getSelection().getReason());
        assertTrue(info.getSelection().getVariantsList().stream().anyMatch(v -> v.getId().equals("int4")
            && v.getOutcome() == VariantOutcome.VARIANT_OUTCOME_CANDIDATE), info.getSelection().toString());

        Set<String> fetched = blobsFetched();
        Set<String> anyLayer = layers.values().stream().flatMap(Set::stream).collect(Collectors.toSet());
        fetched.retainAll(anyLayer);
        assertEquals(layers.get(chosen), fetched, "exactly the chosen variant's files were downloaded");

        // Tokens from the chosen variant, as the engine computes them locally from the same package.
        List<Integer> expectedV1 = greedyIds(v1.get(chosen), List.of(1, 20, 30), 200);
        ManualStream first = ManualStream.start(ch, CallOptions.DEFAULT, request(200), new Metadata(), Integer.MAX_VALUE);
        assertEquals(Status.Code.OK, first.await().getCode());
        assertEquals(expectedV1, ids(first.received));
        assertEquals("prune-int4", first.received.get(0).getVariant());

        // A stream whose reader holds back stays in flight across the swap.
        ManualStream inFlight = ManualStream.start(ch, CallOptions.DEFAULT, request(200), new Metadata(), 1);
        Await.until("the in-flight stream pauses for its reader", () -> d.metric("edgelm_stream_paused", "") == 1, d::log);
        String v1Manifest = info.getSource().getHub().getManifestDigest();

        // A new release under the same tag: another model (seed 2), int4 only.
        edgelm("synth", "--preset", "llama-tiny", "--seed", "2", "--out", work.resolve("ckpt-v2").toString());
        Path fp32v2 = work.resolve("v2/fp32");
        edgelm("import", work.resolve("ckpt-v2").toString(), "--name", "tiny", "--out", fp32v2.toString());
        Path int4v2 = compress(fp32v2, "int4", "int4", work.resolve("v2/int4"));
        edgelm("publish", int4v2.toString(), "--to", registry.authority() + "/models/tiny:stable", "--store",
            work.resolve("publisher-store").toString());

        Await.until("the daemon swaps to the new release", () -> !describe(ch).getSource().getHub().getManifestDigest().equals(v1Manifest),
            d::log);
        ModelInfo after = describe(ch);
        assertEquals(ModelState.MODEL_STATE_LOADED, after.getState());
        assertEquals("", after.getUpdateError());
        assertFalse(inFlight.closed.isDone(), "the old stream is still in flight after the swap");

        List<Integer> expectedV2 = greedyIds(int4v2, List.of(1, 20, 30), 200);
        ManualStream fresh = ManualStream.start(ch, CallOptions.DEFAULT, request(200), new Metadata(), Integer.MAX_VALUE);
        assertEquals(Status.Code.OK, fresh.await().getCode());
        assertEquals(expectedV2, ids(fresh.received), "new streams get the new variant");

        inFlight.request(Integer.MAX_VALUE);
        assertEquals(Status.Code.OK, inFlight.await().getCode());
        assertEquals(expectedV1, ids(inFlight.received), "the stream started on the old variant finished on it");
        assertTrue(d.metric("edgelm_model_swaps_total", "tiny") >= 1);
      } finally {
        ch.shutdownNow();
      }
    }
  }
}
