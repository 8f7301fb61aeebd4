package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.Hosts;
import dev.edgelm.daemon.testing.ManualScheduler;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.testing.TestPackages;
import dev.edgelm.proto.v1.DescribeModelRequest;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.ModelInfo;
import dev.edgelm.proto.v1.ModelState;
import dev.edgelm.proto.v1.PullProgress;
import dev.edgelm.proto.v1.PullRequest;
import dev.edgelm.proto.v1.Quality;
import dev.edgelm.proto.v1.Requirements;
import dev.edgelm.proto.v1.VariantDescriptor;
import dev.edgelm.proto.v1.VariantOutcome;
import io.vertx.grpc.common.GrpcStatus;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The boot flow in-process: a hub model configured by reference alone is resolved, a variant selected
 * for the (simulated) host, only that variant pulled and served; nothing fitting is a
 * FAILED_PRECONDITION without a weight byte fetched; a moved tag is polled (manual scheduler), and the
 * new variant swapped in while a stream on the old one finishes.
 */
class SelectionBootTest {
  private static final ServiceMethodHolder M = new ServiceMethodHolder();

  @TempDir Path tmp;

  /** Holds the first loaded model's fifth step until released: a stream that stays in flight across a swap. */
  private final java.util.concurrent.CountDownLatch firstModelGate = new java.util.concurrent.CountDownLatch(1);
  private final java.util.concurrent.atomic.AtomicInteger modelsMade = new java.util.concurrent.atomic.AtomicInteger();
  private volatile boolean gateFirstModel;
  private final FakeModelLoader loader = new FakeModelLoader().serve("tiny", () -> {
    dev.edgelm.engine.testing.FakeLanguageModel m = FakeModelLoader.saying(400, 512);
    if (modelsMade.incrementAndGet() == 1 && gateFirstModel) {
      m.beforeAppend(n -> {
        if (n == 5) {
          try {
            firstModelGate.await();
          } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
          }
        }
      });
    }
    return m;
  });
  private final ManualScheduler scheduler = new ManualScheduler();
  private TestDaemon d;

  @AfterEach
  void stop() {
    if (d != null) {
      d.close();
    }
  }

  static final class ServiceMethodHolder {
    final io.vertx.grpc.common.ServiceMethod<ModelInfo, DescribeModelRequest> describe = ModelsServiceTest.DESCRIBE;
    final io.vertx.grpc.common.ServiceMethod<PullProgress, PullRequest> pull = ModelsServiceTest.PULL;
  }

  /** A package of model "tiny" with the requirements and quality its method has. */
  private Path pkg(String release, String id, String method, int weightBytes, double ratio, long seed) {
    List<String> ops = switch (method) {
      case "int8" -> List.of("ai.onnx:MatMul", "com.microsoft:DynamicQuantizeMatMul");
      case "int4" -> List.of("ai.onnx:MatMul", "com.microsoft:MatMulNBits");
      default -> List.of("ai.onnx:MatMul");
    };
    VariantDescriptor d = TestPackages.descriptor("tiny", id, method, weightBytes).toBuilder()
        .setMethod(Method.newBuilder().setName(method).putParams("accuracy_level", "4"))
        .setRequirements(Requirements.newBuilder().addAllOnnxOps(ops).setOpset(17))
        .setQuality(Quality.newBuilder().setPerplexityRatio(ratio))
        .build();
    Random r = new Random(seed);
    byte[] weights = new byte[weightBytes];
    r.nextBytes(weights);
    byte[] model = new byte[2048];
    r.nextBytes(model);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("model.onnx", model);
    files.put("model.onnx.data", weights);
    files.put("tokenizer.json", TestPackages.TOKENIZER);
    return TestPackages.write(tmp.resolve("packages").resolve(release).resolve(id), d, files);
  }


  private Reference publish(String release, long seed) {
    return publish(release, seed, 600_000);
  }

  private Reference publish(String release, long seed, int int4Bytes) {
    List<Path> pkgs = List.of(pkg(release, "fp32", "fp32", 4_000_000, 1.0, seed), pkg(release, "int8", "int8", 1_000_000, 1.01, seed + 1),
        pkg(release, "int4", "int4", int4Bytes, 1.05, seed + 2));
    Reference r = Reference.parse("oci:" + tmp.resolve("layout") + ":stable");
    try (Hub hub = Hub.open(HubOptions.defaults(tmp.resolve("publisher-store")))) {
      hub.publish(pkgs, r, PublishOptions.DEFAULT, ProgressListener.NONE);
    }
    return r;
  }

  private TestDaemon start(HostCapabilities host, Map<String, String> extra) {
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("hub.store", tmp.resolve("store").toString());
    flags.put("hub.poll_interval", "1m");
    flags.put("host.cache_dir", tmp.resolve("cache").toString());
    flags.put("generation.workers", "4"); // one may wait at the gate
    flags.putAll(extra);
    d = TestDaemon.start(DaemonRuntime.DEFAULTS.withLoader(loader).withHostProbe(HostProbe.fixed(host)).withScheduler(scheduler), flags);
    return d;
  }

  private ModelInfo describe(String name) {
    return d.call(M.describe, DescribeModelRequest.newBuilder().setName(name).build()).single();
  }

  /** Digests of every weights file ({@code model.onnx.data}) of every published package. */
  private Set<String> weightDigests() throws IOException {
    try (Stream<Path> s = Files.walk(tmp.resolve("packages"))) {
      return s.filter(p -> p.getFileName().toString().equals("model.onnx.data")).map(p -> {
        try {
          return Digest.of(p).hex();
        } catch (IOException e) {
          throw new java.io.UncheckedIOException(e);
        }
      }).collect(java.util.stream.Collectors.toSet());
    }
  }

  private Set<String> storedBlobs() throws IOException {
    Path blobs = tmp.resolve("store/blobs/sha256");
    if (!Files.isDirectory(blobs)) {
      return Set.of();
    }
    try (Stream<Path> s = Files.list(blobs)) {
      return s.map(p -> p.getFileName().toString()).collect(java.util.stream.Collectors.toSet());
    }
  }

  @Test
  void boot_refWithoutVariant_selectsForTheHostAndPullsOnlyThatVariant() throws IOException {
    Reference r = publish("v1", 1);
    start(Hosts.x86(Hosts.AVX2).build(), Map.of("models.tiny.ref", r.toString()));
    Awaits.until("ready", d.daemon::ready, () -> describe("tiny").toString());
    ModelInfo info = describe("tiny");
    assertEquals(ModelState.MODEL_STATE_LOADED, info.getState());
    assertEquals("int4", info.getSource().getHub().getVariant());
    assertEquals("int4", info.getSelection().getChosen());
    assertEquals(info.getSource().getHub().getManifestDigest(), info.getSelection().getChosenManifestDigest());
    assertEquals(VariantOutcome.VARIANT_OUTCOME_CANDIDATE, info.getSelection().getVariants(1).getOutcome());
    assertTrue(info.getSelection().getReason().startsWith("fastest: "), info.getSelection().getReason());
    Set<String> weights = weightDigests();
    Set<String> fetched = new java.util.HashSet<>(storedBlobs());
    fetched.retainAll(weights);
    assertEquals(1, fetched.size(), "only the chosen variant's weights are in the store: " + fetched);
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build());
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals("int4", s.messages.get(0).getVariant());
  }

  @Test
  void boot_nothingFits_failedPreconditionWithoutFetchingWeights() throws IOException {
    Reference r = publish("v1", 1);
    start(Hosts.x86(Hosts.AVX512_VNNI).memory(32L << 20).build(), Map.of("models.tiny.ref", r.toString()));
    Awaits.until("the selection fails", () -> describe("tiny").getState() == ModelState.MODEL_STATE_FAILED, () -> describe("tiny").toString());
    ModelInfo info = describe("tiny");
    assertTrue(info.getError().startsWith("no variant of oci:"), info.getError());
    assertTrue(info.getError().contains("int4: needs") && info.getError().contains("more than the memory budget of 32.0 MiB"), info.getError());
    assertEquals("", info.getSelection().getChosen());
    assertEquals(3, info.getSelection().getVariantsCount());
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").build());
    TestDaemon.Status status = s.await();
    assertEquals(GrpcStatus.FAILED_PRECONDITION, status.status(), status.toString());
    assertTrue(status.message().contains("no variant of"), status.message());
    Set<String> fetched = new java.util.HashSet<>(storedBlobs());
    fetched.retainAll(weightDigests());
    assertEquals(Set.of(), fetched, "no weight blob was downloaded");
    assertFalse(d.daemon.ready());
    assertTrue(d.get("/readyz").body().contains("no variant of"), d.get("/readyz").body());
  }

  private double failedLoads() {
    return TestDaemon.metricValue(d.metrics(), "edgelm_model_load_duration_seconds_count", "\"failed\"");
  }

  @Test
  void releaseRefusedBySignaturePolicy_isFailedPrecondition_andNotPulledAgainPerRequest() throws IOException {
    Reference r = publish("v1", 1); // unsigned
    Path key = tmp.resolve("release.pub");
    dev.edgelm.hub.SigningKeys.writePublicKey(dev.edgelm.hub.SigningKeys.generate().getPublic(), key);
    start(Hosts.x86(Hosts.AVX2).build(), Map.of("models.tiny.ref", r.toString(), "hub.trusted_keys", key.toString()));
    Awaits.until("the load fails", () -> describe("tiny").getState() == ModelState.MODEL_STATE_FAILED);
    for (int i = 0; i < 3; i++) {
      TestDaemon.Status s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build()).await();
      assertEquals(GrpcStatus.FAILED_PRECONDITION, s.status(), s.toString());
      assertTrue(s.message().contains("unsigned"), s.message());
    }
    assertEquals(1, failedLoads(), "a permanent failure is answered, not retried (and downloaded again) per request");
    assertEquals(1, scheduler.pending(), "the tag is still followed: a signed release under it loads");
  }

  @Test
  void unreachableHub_isUnavailable_retriedOnlyAfterABackoff() {
    AtomicLong now = new AtomicLong(1);
    Map<String, String> flags = new LinkedHashMap<>();
    flags.put("hub.store", tmp.resolve("store").toString());
    flags.put("host.cache_dir", tmp.resolve("cache").toString());
    flags.put("models.tiny.ref", "127.0.0.1:1/models/tiny:stable"); // nothing listens on port 1
    d = TestDaemon.start(DaemonRuntime.DEFAULTS.withLoader(loader).withHostProbe(HostProbe.fixed(Hosts.x86(Hosts.AVX2).build()))
        .withScheduler(scheduler).withTicker(now::get), flags);
    Awaits.until("the first attempt fails", () -> failedLoads() == 1);
    TestDaemon.Status s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build()).await();
    assertEquals(GrpcStatus.UNAVAILABLE, s.status(), s.toString());
    assertTrue(s.message().contains("next attempt in"), s.message());
    d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build()).await();
    assertEquals(1, failedLoads(), "within the backoff no request starts another attempt");
    now.addAndGet(Duration.ofSeconds(2).toNanos());
    d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build()).await();
    Awaits.until("after the backoff a request retries", () -> failedLoads() == 2);
    d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build()).await();
    now.addAndGet(Duration.ofSeconds(2).toNanos());
    d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build()).await();
    assertEquals(2, failedLoads(), "the backoff doubles: 2 s after the second failure is too soon");
  }

  @Test
  void stop_cancelsTheTagCheckThatIsDue() {
    Reference r = publish("v1", 1);
    start(Hosts.x86(Hosts.AVX2).build(), Map.of("models.tiny.ref", r.toString()));
    Awaits.until("ready", d.daemon::ready);
    Awaits.until("a poll is scheduled", () -> scheduler.pending() == 1);
    d.close();
    d = null;
    assertEquals(0, scheduler.pending(), "a stopped daemon leaves no tag check scheduled");
  }

  @Test
  void poll_movedTag_swapsVariantWhileAStreamOnTheOldOneFinishes() {
    gateFirstModel = true;
    Reference r = publish("v1", 1);
    start(Hosts.x86(Hosts.AVX2).build(), Map.of("models.tiny.ref", r.toString()));
    Awaits.until("ready", d.daemon::ready);
    String v1 = describe("tiny").getSource().getHub().getManifestDigest();
    String index1 = describe("tiny").getSource().getHub().getIndexDigest();

    // An unchanged tag: the check answers from the index digest and swaps nothing.
    Awaits.until("a poll is scheduled", () -> scheduler.pending() == 1);
    scheduler.advance(Duration.ofMinutes(1));
    Awaits.until("the tag was checked", () -> describe("tiny").getLastCheckedUnixMs() > 0 && scheduler.pending() == 1);
    assertEquals(v1, describe("tiny").getSource().getHub().getManifestDigest());

    TestDaemon.Stream inFlight = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(400).build());
    Awaits.until("the stream is held in its fifth step", () -> inFlight.messages.size() >= 3);
    assertEquals("int4", inFlight.messages.get(0).getVariant());

    publish("v2", 100); // the same tag now names a release with other int4 weights
    scheduler.advance(Duration.ofMinutes(1));
    Awaits.until("the new variant is swapped in", () -> !describe("tiny").getSource().getHub().getManifestDigest().equals(v1),
        () -> describe("tiny").toString());
    ModelInfo after = describe("tiny");
    assertFalse(after.getSource().getHub().getIndexDigest().equals(index1));
    assertEquals("", after.getUpdateError());
    assertEquals(ModelState.MODEL_STATE_LOADED, after.getState());
    assertEquals(2, loader.loads(), "the new variant was loaded beside the old one");
    assertEquals(0, loader.closes(), "the old one waits for its stream");

    TestDaemon.Stream fresh = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(3).build());
    assertEquals(GrpcStatus.OK, fresh.await().status());
    assertFalse(inFlight.done.isDone(), "the old stream is still in flight");
    firstModelGate.countDown();
    TestDaemon.Status old = inFlight.await();
    assertEquals(GrpcStatus.OK, old.status(), old.toString());
    assertEquals(400, inFlight.last().getUsage().getCompletionTokens(), "the in-flight stream ran to its end on the old variant");
    Awaits.until("the old variant is closed after its last stream", () -> loader.closes() == 1);
    assertTrue(d.metric("edgelm_model_swaps_total", "tiny") >= 1, d.metrics());
  }

  @Test
  void boot_benchmarkTop_decodesTheTopCandidatesHereAndCachesTheResult() throws IOException {
    Reference r = publish("v1", 1);
    start(Hosts.x86(Hosts.AVX2).build(), Map.of("models.tiny.ref", r.toString(), "select.benchmark_top", "2", "select.benchmark_tokens", "4"));
    Awaits.until("ready", d.daemon::ready, () -> describe("tiny").toString());
    List<dev.edgelm.proto.v1.VariantVerdict> measured = describe("tiny").getSelection().getVariantsList().stream()
        .filter(v -> v.getSpeedBasis().equals("measured on this host")).toList();
    assertEquals(2, measured.size(), describe("tiny").getSelection().toString());
    assertEquals(VariantOutcome.VARIANT_OUTCOME_CHOSEN, measured.get(0).getOutcome(), "a measured candidate ranks first");
    assertEquals(3, loader.loads(), "two benchmark loads, then the chosen variant");
    try (Stream<Path> s = Files.list(tmp.resolve("cache"))) {
      assertEquals(1, s.filter(p -> p.getFileName().toString().startsWith("benchmarks-")).count());
    }
  }

  @Test
  void poll_nothingFitsUntilASmallerReleaseIsTagged_thenItLoads() {
    Reference r = publish("v1", 1);
    // KV for 4 x 512 tokens is 2.5 MiB: with 3 MiB and no overhead, only a variant under ~0.5 MiB fits.
    start(Hosts.x86(Hosts.AVX2).memory(3L << 20).build(), Map.of("models.tiny.ref", r.toString(), "select.memory_overhead", "0"));
    Awaits.until("nothing fits", () -> describe("tiny").getState() == ModelState.MODEL_STATE_FAILED);
    TestDaemon.Stream refused = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").build());
    assertEquals(GrpcStatus.FAILED_PRECONDITION, refused.await().status());
    assertEquals(0, loader.loads());

    publish("v2", 7, 200_000);
    Awaits.until("the tag is polled", () -> scheduler.pending() == 1);
    scheduler.advance(Duration.ofMinutes(1));
    Awaits.until("the smaller int4 loads", d.daemon::ready, () -> describe("tiny").toString());
    ModelInfo info = describe("tiny");
    assertEquals(ModelState.MODEL_STATE_LOADED, info.getState());
    assertEquals("int4", info.getSelection().getChosen());
    assertEquals("", info.getError());
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").setMaxTokens(2).build());
    assertEquals(GrpcStatus.OK, s.await().status());
  }

  @Test
  void pull_withoutVariant_selectsForTheHost() {
    Reference r = publish("v1", 1);
    start(Hosts.x86(Hosts.AVX2).build(), Map.of());
    TestDaemon.Reply<PullProgress> reply = d.call(M.pull, PullRequest.newBuilder().setReference(r.toString()).setName("pulled").setLoad(true).build());
    assertEquals(GrpcStatus.OK, reply.status().status(), reply.status().toString());
    PullProgress done = reply.messages().get(reply.messages().size() - 1);
    assertEquals("int4", done.getDone().getSource().getVariant());
    assertEquals("int4", done.getDone().getModel().getSelection().getChosen());
    List<String> ids = new ArrayList<>();
    done.getDone().getModel().getSelection().getVariantsList().forEach(v -> ids.add(v.getId()));
    assertEquals(List.of("int4", "int8", "fp32"), ids);
  }
}
