package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.Awaits;
import dev.edgelm.daemon.testing.FakeModelLoader;
import dev.edgelm.daemon.testing.TestDaemon;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.Reference;
import dev.edgelm.proto.v1.DescribeModelRequest;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.HubSource;
import dev.edgelm.proto.v1.ListModelsRequest;
import dev.edgelm.proto.v1.ListModelsResponse;
import dev.edgelm.proto.v1.LoadModelRequest;
import dev.edgelm.proto.v1.ModelInfo;
import dev.edgelm.proto.v1.ModelSource;
import dev.edgelm.proto.v1.ModelState;
import dev.edgelm.proto.v1.PinModelRequest;
import dev.edgelm.proto.v1.PullProgress;
import dev.edgelm.proto.v1.PullRequest;
import dev.edgelm.proto.v1.UnloadModelRequest;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Models service over gRPC: list, describe, load, unload, pin, and Pull from an OCI layout hub. */
class ModelsServiceTest {
  static final String MODELS = "edgelm.v1.Models";
  static final ServiceMethod<ListModelsResponse, ListModelsRequest> LIST = TestDaemon.method(MODELS, "List", ListModelsResponse.newBuilder());
  static final ServiceMethod<ModelInfo, DescribeModelRequest> DESCRIBE = TestDaemon.method(MODELS, "Describe", ModelInfo.newBuilder());
  static final ServiceMethod<ModelInfo, LoadModelRequest> LOAD = TestDaemon.method(MODELS, "Load", ModelInfo.newBuilder());
  static final ServiceMethod<ModelInfo, UnloadModelRequest> UNLOAD = TestDaemon.method(MODELS, "Unload", ModelInfo.newBuilder());
  static final ServiceMethod<ModelInfo, PinModelRequest> PIN = TestDaemon.method(MODELS, "Pin", ModelInfo.newBuilder());
  static final ServiceMethod<PullProgress, PullRequest> PULL = TestDaemon.method(MODELS, "Pull", PullProgress.newBuilder());

  @TempDir Path tmp;

  private final FakeModelLoader loader = new FakeModelLoader()
      .serve("tiny", () -> FakeModelLoader.saying(3, 64))
      .serve("extra", () -> FakeModelLoader.saying(4, 64))
      .serve("pulled", () -> FakeModelLoader.saying(2, 64));
  private TestDaemon d;

  @AfterEach
  void stop() {
    if (d != null) {
      d.close();
    }
  }

  private TestDaemon start(Map<String, String> extra) {
    java.util.Map<String, String> flags = new java.util.LinkedHashMap<>();
    flags.put("models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString());
    flags.put("hub.store", tmp.resolve("store").toString());
    flags.putAll(extra);
    d = TestDaemon.start(loader, flags);
    Awaits.until("ready", d.daemon::ready);
    return d;
  }

  @Test
  void listAndDescribe_showTheConfiguredModel() {
    start(Map.of());
    List<ModelInfo> models = d.call(LIST, ListModelsRequest.getDefaultInstance()).single().getModelsList();
    assertEquals(1, models.size());
    ModelInfo tiny = d.call(DESCRIBE, DescribeModelRequest.newBuilder().setName("tiny").build()).single();
    assertEquals(ModelState.MODEL_STATE_LOADED, tiny.getState());
    assertTrue(tiny.getConfigured());
    assertEquals("fp32", tiny.getVariantDescriptor().getId());
    assertEquals(tmp.resolve("tiny").toAbsolutePath().toString(), tiny.getSource().getPath());
    assertEquals(DaemonConfig.Limits.DEFAULT_MAX_CONCURRENT, tiny.getMaxConcurrent());
    assertEquals(64, tiny.getContextLength());
    assertTrue(tiny.getKvBudgetBytes() > 0);
    assertEquals(GrpcStatus.NOT_FOUND, d.call(DESCRIBE, DescribeModelRequest.newBuilder().setName("nope").build()).status().status());
  }

  @Test
  void loadPinUnload_manageANewModel() {
    start(Map.of());
    Path extra = FakeModelLoader.writePackage(tmp.resolve("extra"), "extra", 4096);
    LoadModelRequest load = LoadModelRequest.newBuilder().setName("extra")
        .setSource(ModelSource.newBuilder().setPath(extra.toString())).setPin(true).build();
    ModelInfo info = d.call(LOAD, load).single();
    assertEquals(ModelState.MODEL_STATE_LOADED, info.getState());
    assertTrue(info.getPinned());
    assertFalse(info.getConfigured());
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("extra").setPrompt("a").build());
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals("abcd", s.text());
    assertFalse(d.call(PIN, PinModelRequest.newBuilder().setName("extra").setPinned(false).build()).single().getPinned());
    assertEquals(ModelState.MODEL_STATE_NOT_LOADED, d.call(UNLOAD, UnloadModelRequest.newBuilder().setName("extra").build()).single().getState());
    Awaits.until("extra is closed", () -> loader.closes() == 1);
    assertEquals(ModelState.MODEL_STATE_LOADED, d.call(LOAD, LoadModelRequest.newBuilder().setName("extra").build()).single().getState());
    assertEquals(GrpcStatus.NOT_FOUND, d.call(LOAD, LoadModelRequest.newBuilder().setName("unknown").build()).status().status());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.call(LOAD, LoadModelRequest.newBuilder().setName("tiny")
        .setSource(ModelSource.newBuilder().setPath(extra.toString())).build()).status().status(), "a name is one source");
    assertEquals(GrpcStatus.FAILED_PRECONDITION, d.call(LOAD, LoadModelRequest.newBuilder().setName("broken")
        .setSource(ModelSource.newBuilder().setPath(tmp.resolve("missing").toString())).build()).status().status());
    assertEquals(GrpcStatus.NOT_FOUND, d.call(DESCRIBE, DescribeModelRequest.newBuilder().setName("broken").build()).status().status(),
        "a new model that failed to load is forgotten");
  }

  @Test
  void load_packageWithAFlippedByte_isDataLossAndNothingLoads() throws java.io.IOException {
    start(Map.of());
    Path extra = FakeModelLoader.writePackage(tmp.resolve("extra"), "extra", 4096);
    Path weights = extra.resolve("model.onnx.data");
    byte[] b = java.nio.file.Files.readAllBytes(weights);
    b[100] ^= 0x01;
    java.nio.file.Files.write(weights, b); // same size: only the digest tells
    int loadsBefore = loader.loads();
    TestDaemon.Reply<ModelInfo> r = d.call(LOAD, LoadModelRequest.newBuilder().setName("extra")
        .setSource(ModelSource.newBuilder().setPath(extra.toString())).build());
    assertEquals(GrpcStatus.DATA_LOSS, r.status().status());
    assertTrue(r.status().message().contains("model.onnx.data does not match the sha256 digest in variant.json"), r.status().message());
    assertEquals(loadsBefore, loader.loads(), "the loader never saw the damaged package");
  }

  @Test
  void configuredModel_damagedAfterItWasWritten_failsToLoadAndGenerateIsDataLoss() throws java.io.IOException {
    Path bad = FakeModelLoader.writePackage(tmp.resolve("bad"), "extra", 4096);
    Path weights = bad.resolve("model.onnx.data");
    byte[] b = java.nio.file.Files.readAllBytes(weights);
    b[7] ^= 0x01;
    java.nio.file.Files.write(weights, b);
    d = TestDaemon.start(loader, Map.of("models.tiny.path", FakeModelLoader.writePackage(tmp.resolve("tiny"), "tiny", 4096).toString(),
        "models.extra.path", bad.toString(), "hub.store", tmp.resolve("store").toString()));
    Awaits.until("extra has failed", () -> d.call(DESCRIBE, DescribeModelRequest.newBuilder().setName("extra").build()).single().getState()
        == ModelState.MODEL_STATE_FAILED);
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("extra").setPrompt("a").build());
    assertEquals(GrpcStatus.DATA_LOSS, s.await().status());
    assertTrue(s.await().message().contains("model.onnx.data does not match"), s.await().message());
    assertEquals(GrpcStatus.OK, d.generate(GenerateRequest.newBuilder().setModel("tiny").setPrompt("a").build()).await().status(),
        "the intact model still serves");
  }

  @Test
  void load_newModelWhenNotAllowed_givesPermissionDenied() {
    start(Map.of("api.allow_new_models", "false"));
    Path extra = FakeModelLoader.writePackage(tmp.resolve("extra"), "extra", 4096);
    TestDaemon.Reply<ModelInfo> r = d.call(LOAD, LoadModelRequest.newBuilder().setName("extra")
        .setSource(ModelSource.newBuilder().setPath(extra.toString())).build());
    assertEquals(GrpcStatus.PERMISSION_DENIED, r.status().status());
    assertEquals(GrpcStatus.PERMISSION_DENIED, d.call(PULL, PullRequest.newBuilder().setReference("oci:/x:1").setVariant("fp32").build())
        .status().status());
  }

  @Test
  void loadAndPull_stayInsideTheConfiguredRootsAndRegistries() throws java.io.IOException {
    Path root = java.nio.file.Files.createDirectories(tmp.resolve("root"));
    start(Map.of("api.load_roots", root.toString(), "api.pull_registries", "hub.example:5000"));
    Path inside = FakeModelLoader.writePackage(root.resolve("in"), "extra", 4096);
    Path outside = FakeModelLoader.writePackage(tmp.resolve("out"), "out", 4096);
    java.nio.file.Files.createSymbolicLink(root.resolve("link"), outside);
    assertEquals(ModelState.MODEL_STATE_LOADED, d.call(LOAD, LoadModelRequest.newBuilder().setName("in")
        .setSource(ModelSource.newBuilder().setPath(inside.toString())).build()).single().getState());
    for (String path : List.of(outside.toString(), root.resolve("link").toString(), root.resolve("../out").toString(), "/etc")) {
      TestDaemon.Reply<ModelInfo> r = d.call(LOAD, LoadModelRequest.newBuilder().setName("x")
          .setSource(ModelSource.newBuilder().setPath(path)).build());
      assertEquals(GrpcStatus.PERMISSION_DENIED, r.status().status(), path);
      assertTrue(r.status().message().contains("api.load_roots"), r.status().message());
    }
    TestDaemon.Reply<PullProgress> elsewhere = d.call(PULL, PullRequest.newBuilder().setReference("127.0.0.1:1/internal/x:1").build());
    assertEquals(GrpcStatus.PERMISSION_DENIED, elsewhere.status().status());
    assertTrue(elsewhere.status().message().contains("api.pull_registries"), elsewhere.status().message());
    assertEquals(GrpcStatus.PERMISSION_DENIED, d.call(PULL, PullRequest.newBuilder().setReference("oci:" + tmp.resolve("layout") + ":1").build())
        .status().status(), "an OCI layout is a path: outside the roots");
  }

  private Reference publish() {
    Path pkg = FakeModelLoader.writePackage(tmp.resolve("pkg"), "pulled", 64 * 1024);
    Reference ref = Reference.parse("oci:" + tmp.resolve("layout") + ":1");
    try (Hub hub = Hub.open(HubOptions.defaults(tmp.resolve("publisher-store")))) {
      hub.publish(List.of(pkg), ref, PublishOptions.DEFAULT, ProgressListener.NONE);
    }
    return ref;
  }

  @Test
  void pull_streamsProgressThenRegistersAndLoadsTheModel() {
    Reference ref = publish();
    start(Map.of());
    TestDaemon.Reply<PullProgress> r = d.call(PULL, PullRequest.newBuilder().setReference(ref.toString()).setVariant("fp32")
        .setName("pulled").setLoad(true).build());
    assertEquals(GrpcStatus.OK, r.status().status(), String.valueOf(r.status()));
    assertEquals(PullProgress.EventCase.STARTED, r.messages().get(0).getEventCase());
    assertTrue(r.messages().stream().anyMatch(m -> m.getEventCase() == PullProgress.EventCase.FILE_COMPLETED));
    PullProgress done = r.messages().get(r.messages().size() - 1);
    assertEquals(PullProgress.EventCase.DONE, done.getEventCase());
    assertTrue(done.getDone().getSource().getManifestDigest().startsWith("sha256:"));
    assertEquals(ModelState.MODEL_STATE_LOADED, done.getDone().getModel().getState());
    TestDaemon.Stream s = d.generate(GenerateRequest.newBuilder().setModel("pulled").setPrompt("a").build());
    assertEquals(GrpcStatus.OK, s.await().status());
    assertEquals("ab", s.text());
    assertEquals(GrpcStatus.NOT_FOUND, d.call(PULL, PullRequest.newBuilder().setReference(ref.toString()).setVariant("int3").build())
        .status().status());
    assertEquals(GrpcStatus.INVALID_ARGUMENT, d.call(PULL, PullRequest.newBuilder().setReference("not a ref").setVariant("fp32").build())
        .status().status());
  }

  @Test
  void hubModelInConfig_isPulledAtStart() {
    Reference ref = publish();
    start(Map.of("models.fromhub.ref", ref.toString(), "models.fromhub.variant", "fp32"));
    ModelInfo info = d.call(DESCRIBE, DescribeModelRequest.newBuilder().setName("fromhub").build()).single();
    assertEquals(ModelState.MODEL_STATE_LOADED, info.getState());
    HubSource hub = info.getSource().getHub();
    assertEquals("fp32", hub.getVariant());
    assertTrue(hub.getIndexDigest().startsWith("sha256:"));
    assertTrue(Path.of(hub.getPackageDir()).startsWith(tmp.resolve("store")));
  }
}
