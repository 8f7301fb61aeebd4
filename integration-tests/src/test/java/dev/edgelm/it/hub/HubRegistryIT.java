package dev.edgelm.it.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.RetryPolicy;
import dev.edgelm.hub.UnavailableException;
import dev.edgelm.hub.testing.DebianTools;
import dev.edgelm.hub.testing.LoopbackProxy;
import dev.edgelm.hub.testing.RegistryProcess;
import dev.edgelm.hub.testing.TestPackages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hub against a real registry (Debian's docker-registry 2.8 on 127.0.0.1), with skopeo as the
 * independent OCI client and loopback proxies injecting faults. Issue #4's acceptance tests.
 */
class HubRegistryIT {
  private static final RetryPolicy QUICK = RetryPolicy.DEFAULT.withBackoff(Duration.ofMillis(50), Duration.ofMillis(200));
  private static final ObjectMapper JSON = new ObjectMapper();
  @TempDir static Path shared;
  private static RegistryProcess registry;
  @TempDir Path tmp;

  @BeforeAll
  static void startRegistry() throws IOException {
    registry = RegistryProcess.start(shared.resolve("registry"));
  }

  @AfterAll
  static void stopRegistry() {
    if (registry != null) {
      registry.close();
    }
  }

  private HubOptions options(Path store) {
    return HubOptions.defaults(store).withRetry(QUICK).withMinFreeBytes(0);
  }

  /** Publishes one synthetic variant with weights of {@code weightBytes} to a fresh repository. */
  private Reference publishOne(String repo, int weightBytes) {
    Path pkg = TestPackages.write(tmp.resolve("pkg-" + repo), "synthetic", "fp32", "fp32", weightBytes, repo.hashCode());
    Reference ref = Reference.parse(registry.authority() + "/" + repo + ":1");
    try (Hub hub = Hub.open(options(tmp.resolve("publisher")))) {
      hub.publish(List.of(pkg), ref, PublishOptions.DEFAULT, ProgressListener.NONE);
    }
    return ref;
  }

  private Path pkgDir(String repo) {
    return tmp.resolve("pkg-" + repo);
  }

  @Test
  void publishThreeVariants_pullOne_filesIdentical_andSkopeoReadsIndexAndManifests() throws Exception {
    List<Path> pkgs = ReleaseFixture.threeVariants(tmp.resolve("release"));
    String ref = registry.authority() + "/models/stories260k:1.0";
    Path store = tmp.resolve("store");

    HubCli.Run published = HubCli.run(Stream.concat(Stream.of("publish"), Stream.concat(pkgs.stream().map(Path::toString),
        Stream.of("--to", ref, "--store", tmp.resolve("pub-store").toString()))).toArray(String[]::new));
    assertEquals(0, published.exit(), published.err());
    String pinned = published.lastLine();
    assertTrue(pinned.startsWith(ref + "@sha256:"), pinned);

    HubCli.Run pulled = HubCli.run("pull", ref, "--variant", "int8", "--store", store.toString());
    assertEquals(0, pulled.exit(), pulled.err());
    assertTrue(TestPackages.sameFiles(pkgs.get(1), Path.of(pulled.lastLine())), "byte-identical package");
    assertTrue(pulled.err().contains("release") && pulled.err().contains("unsigned"), "warns about the missing signature: " + pulled.err());

    HubCli.Run ls = HubCli.run("ls", "--store", store.toString());
    assertEquals(0, ls.exit(), ls.err());
    assertTrue(ls.out().contains(ref) && ls.out().contains("int8"), ls.out());
    HubCli.Run gcKeeps = HubCli.run("gc", "--store", store.toString());
    assertTrue(gcKeeps.out().startsWith("removed 0 blobs"), gcKeeps.out());
    assertEquals(0, HubCli.run("rm", ref, "--store", store.toString()).exit());
    HubCli.Run gc = HubCli.run("gc", "--store", store.toString());
    assertEquals(0, gc.exit(), gc.err());
    assertTrue(gc.out().contains("1 packages") && gc.out().contains("kept 0 blobs"), gc.out());

    // skopeo, an independent OCI client, reads what we published.
    Path skopeo = DebianTools.require("/usr/bin/skopeo", "skopeo");
    DebianTools.Result index = DebianTools.run(List.of(skopeo.toString(), "inspect", "--raw", "--tls-verify=false", "docker://" + ref), 120);
    assertEquals(0, index.exit(), index.stderr());
    assertEquals(pinned.substring(pinned.indexOf('@') + 1), Digest.of(index.stdout().getBytes(java.nio.charset.StandardCharsets.UTF_8)).toString());
    JsonNode idx = JSON.readTree(index.stdout());
    assertEquals(HubFormat.OCI_INDEX, idx.get("mediaType").asText());
    assertEquals(HubFormat.RELEASE_ARTIFACT_TYPE, idx.get("artifactType").asText());
    assertEquals(3, idx.get("manifests").size());
    for (JsonNode entry : idx.get("manifests")) {
      String repo = ref.substring(0, ref.lastIndexOf(':'));
      DebianTools.Result m = DebianTools.run(List.of(skopeo.toString(), "inspect", "--raw", "--tls-verify=false",
          "docker://" + repo + "@" + entry.get("digest").asText()), 120);
      assertEquals(0, m.exit(), m.stderr());
      JsonNode manifest = JSON.readTree(m.stdout());
      assertEquals(HubFormat.VARIANT_ARTIFACT_TYPE, manifest.get("artifactType").asText());
      assertEquals(HubFormat.VARIANT_CONFIG, manifest.get("config").get("mediaType").asText());
      assertTrue(manifest.get("layers").get(0).get("annotations").has(HubFormat.TITLE));
      assertTrue(entry.get("annotations").has(HubFormat.WEIGHT_BYTES));
    }
  }

  @Test
  void connectionCutMidBlob_nextPullResumesFromThePartial() throws IOException {
    Reference direct = publishOne("cut", 4 << 20);
    Digest weights = Digest.of(pkgDir("cut").resolve("model.onnx.data"));
    long size = 4 << 20;
    try (LoopbackProxy proxy = LoopbackProxy.start(registry.port(), new LoopbackProxy.Fault(
        r -> r.isBlobGet() && r.path().contains(weights.hex()), LoopbackProxy.Fault.Kind.DROP_AFTER, 3_000_000, 1, null))) {
      Reference viaProxy = Reference.parse(proxy.authority() + "/cut:1");
      Path store = tmp.resolve("store");
      try (Hub hub = Hub.open(options(store).withRetry(RetryPolicy.NONE))) {
        UnavailableException e = assertThrows(UnavailableException.class, () -> hub.pull(viaProxy, "fp32", ProgressListener.NONE));
        assertTrue(e.getMessage().contains("resume"), e.getMessage());
      }
      long partial = Files.size(store.resolve("ingest").resolve(weights.hex() + ".partial"));
      assertTrue(partial > 0 && partial <= 3_000_000, "partial " + partial);
      proxy.clearLog();
      try (Hub hub = Hub.open(options(store))) {
        InstalledVariant v = hub.pull(viaProxy, "fp32", ProgressListener.NONE);
        assertTrue(TestPackages.sameFiles(pkgDir("cut"), v.packageDir()));
      }
      LoopbackProxy.Exchange resumed = proxy.exchanges().stream().filter(x -> x.path().contains(weights.hex())).findFirst().orElseThrow();
      assertEquals("bytes=" + partial + "-", resumed.range());
      long refetched = resumed.bodyBytes() - (size - partial);
      assertEquals(0, refetched, "the resumed pull fetched only what was missing");
      System.out.printf("[measure] cut at %d of %d bytes; resumed from %d; re-fetched %d bytes (%.2f%%)%n",
          3_000_000, size, partial, 3_000_000 - partial, 100.0 * (3_000_000 - partial) / size);
    }
    assertTrue(direct.toString().contains("cut"));
  }

  @Test
  void pullerProcessKilledMidBlob_nextPullResumesFromThePartial() throws Exception {
    publishOne("kill", 4 << 20);
    Digest weights = Digest.of(pkgDir("kill").resolve("model.onnx.data"));
    long size = 4 << 20;
    Path store = tmp.resolve("store");
    Path partialFile = store.resolve("ingest").resolve(weights.hex() + ".partial");
    try (LoopbackProxy proxy = LoopbackProxy.start(registry.port(), LoopbackProxy.Fault.none())) {
      String ref = proxy.authority() + "/kill:1";
      Process puller = HubCli.start(tmp.resolve("puller.log"), "pull", ref, "--store", store.toString(), "--limit-rate", "1M");
      try {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (!(Files.exists(partialFile) && Files.size(partialFile) >= 1 << 20)) {
          assertTrue(puller.isAlive(), () -> "the puller ended early: " + read(tmp.resolve("puller.log")));
          assertTrue(System.nanoTime() < deadline, "the puller wrote no 1 MiB partial in 3 minutes");
          puller.waitFor(20, TimeUnit.MILLISECONDS);
        }
      } finally {
        puller.destroyForcibly(); // SIGKILL: no shutdown hooks, no cleanup
        puller.waitFor();
      }
      long partial = Files.size(partialFile);
      assertTrue(partial > 0 && partial < size, "partial " + partial);
      proxy.clearLog();
      try (Hub hub = Hub.open(options(store))) {
        InstalledVariant v = hub.pull(Reference.parse(ref), "fp32", ProgressListener.NONE);
        assertTrue(TestPackages.sameFiles(pkgDir("kill"), v.packageDir()));
      }
      LoopbackProxy.Exchange resumed = proxy.exchanges().stream().filter(x -> x.path().contains(weights.hex())).findFirst().orElseThrow();
      assertEquals("bytes=" + partial + "-", resumed.range());
      assertEquals(size - partial, resumed.bodyBytes(), "re-fetched nothing that was on disk");
      System.out.printf("[measure] killed with %d of %d bytes on disk (%.0f%%); resume fetched %d bytes; re-fetch 0%%%n",
          partial, size, 100.0 * partial / size, resumed.bodyBytes());
    }
  }

  @Test
  void blobWithOneFlippedByte_failsWithIntegrityError_nothingInstalled() throws IOException {
    publishOne("flip", 1 << 20);
    Digest weights = Digest.of(pkgDir("flip").resolve("model.onnx.data"));
    Path store = tmp.resolve("store");
    try (LoopbackProxy proxy = LoopbackProxy.start(registry.port(), new LoopbackProxy.Fault(
        r -> r.isBlobGet() && r.path().contains(weights.hex()), LoopbackProxy.Fault.Kind.FLIP_BYTE, 123_456, -1, null))) {
      Reference ref = Reference.parse(proxy.authority() + "/flip:1");
      try (Hub hub = Hub.open(options(store))) {
        IntegrityException e = assertThrows(IntegrityException.class, () -> hub.pull(ref, "fp32", ProgressListener.NONE));
        assertTrue(e.getMessage().contains("model.onnx.data is corrupt") || e.getMessage().contains("corrupt"), e.getMessage());
        assertTrue(hub.store().list().isEmpty(), "no ref recorded");
      }
      assertFalse(Files.exists(store.resolve("ingest").resolve(weights.hex() + ".partial")), "partial discarded");
      assertFalse(Files.exists(store.resolve("blobs/sha256").resolve(weights.hex())), "blob not installed");
      try (Stream<Path> pkgs = Files.list(store.resolve("packages"))) {
        assertEquals(0, pkgs.count(), "no package directory");
      } catch (java.nio.file.NoSuchFileException none) {
        // No package directory at all.
      }
      // The CLI says it in one line and exits 3 (corrupt input), as the README's contract says.
      HubCli.Run cli = HubCli.run("pull", ref.toString(), "--store", store.toString());
      assertEquals(3, cli.exit());
      assertTrue(cli.err().lines().anyMatch(l -> l.startsWith("edgelm: error: ") && l.contains("corrupt")), cli.err());
    }
  }

  @Test
  void policyRequire_unsignedOrWronglySigned_isRefusedWithTheReason_rightKeyPulls() throws IOException {
    Path keys = tmp.resolve("keys");
    Files.createDirectories(keys);
    assertEquals(0, HubCli.run("keygen", "--out", keys.resolve("publisher").toString()).exit());
    assertEquals(0, HubCli.run("keygen", "--out", keys.resolve("mallory").toString()).exit());
    Path pkg = TestPackages.write(tmp.resolve("pkg-signed"), "signed", "fp32", "fp32", 64 << 10, 5);
    String base = registry.authority() + "/signed:";
    assertEquals(0, HubCli.run("publish", pkg.toString(), "--to", base + "unsigned", "--store", tmp.resolve("p").toString()).exit());
    HubCli.Run wrong = HubCli.run("publish", pkg.toString(), "--to", base + "mallory", "--sign", keys.resolve("mallory.key").toString(),
        "--store", tmp.resolve("p").toString());
    assertEquals(0, wrong.exit(), wrong.err());
    // Same content, so it gets the same index digest: sign it under another tag with the right key.
    Path pkg2 = TestPackages.write(tmp.resolve("pkg-signed2"), "signed", "fp32", "fp32", 64 << 10, 6);
    HubCli.Run good = HubCli.run("publish", pkg2.toString(), "--to", base + "good", "--sign", keys.resolve("publisher.key").toString(),
        "--store", tmp.resolve("p").toString());
    assertEquals(0, good.exit(), good.err());
    String store = tmp.resolve("store").toString();
    String[] require = {"--verify", "require", "--trusted-key", keys.resolve("publisher.pub").toString(), "--store", store};

    HubCli.Run unsigned = HubCli.run(Stream.concat(Stream.of("pull", base + "unsigned"), Stream.of(require)).toArray(String[]::new));
    assertEquals(1, unsigned.exit());
    assertTrue(unsigned.err().contains("unsigned") && unsigned.err().contains("require"), unsigned.err());

    HubCli.Run untrusted = HubCli.run(Stream.concat(Stream.of("pull", base + "mallory"), Stream.of(require)).toArray(String[]::new));
    assertEquals(1, untrusted.exit());
    assertTrue(untrusted.err().contains("not trusted"), untrusted.err());

    HubCli.Run ok = HubCli.run(Stream.concat(Stream.of("pull", base + "good"), Stream.of(require)).toArray(String[]::new));
    assertEquals(0, ok.exit(), ok.err());
    assertTrue(TestPackages.sameFiles(pkg2, Path.of(ok.lastLine())));
    assertFalse(ok.err().contains("warning"), ok.err());
  }

  @Test
  void registry503TwiceThenOk_pullSucceedsAfterRetries() throws IOException {
    publishOne("flaky", 64 << 10);
    try (LoopbackProxy proxy = LoopbackProxy.start(registry.port(), LoopbackProxy.Fault.status(503, 2, null))) {
      try (Hub hub = Hub.open(options(tmp.resolve("store")))) {
        InstalledVariant v = hub.pull(Reference.parse(proxy.authority() + "/flaky:1"), "fp32", ProgressListener.NONE);
        assertTrue(TestPackages.sameFiles(pkgDir("flaky"), v.packageDir()));
      }
      List<LoopbackProxy.Exchange> log = proxy.exchanges();
      assertEquals(503, log.get(0).status());
      assertEquals(503, log.get(1).status());
      assertEquals(log.get(0).path(), log.get(2).path(), "the same request was retried");
      assertEquals(200, log.get(2).status());
    }
  }

  @Test
  void registry404_isNotRetried() throws IOException {
    publishOne("gone", 64 << 10);
    try (LoopbackProxy proxy = LoopbackProxy.start(registry.port(), LoopbackProxy.Fault.statusWhen(LoopbackProxy.Request::isBlobGet, 404))) {
      try (Hub hub = Hub.open(options(tmp.resolve("store")))) {
        assertThrows(NotFoundException.class, () -> hub.pull(Reference.parse(proxy.authority() + "/gone:1"), "fp32", ProgressListener.NONE));
      }
      assertEquals(1, proxy.exchanges().stream().filter(LoopbackProxy.Exchange::isBlobGet).count(), proxy.exchanges().toString());
    }
  }

  @Test
  void layoutPublishedOffline_copied_pulledOffline() throws Exception {
    List<Path> pkgs = ReleaseFixture.threeVariants(tmp.resolve("release"));
    Path layout = tmp.resolve("layout");
    HubCli.Run published = HubCli.run(Stream.concat(Stream.of("publish"), Stream.concat(pkgs.stream().map(Path::toString),
        Stream.of("--to", "oci:" + layout + ":1.0", "--store", tmp.resolve("pub-store").toString()))).toArray(String[]::new));
    assertEquals(0, published.exit(), published.err());
    Path copy = tmp.resolve("copied");
    copyTree(layout, copy);
    // A separate process in offline mode: it may not open any network connection.
    Path log = tmp.resolve("offline-pull.log");
    Process p = HubCli.start(log, "pull", "oci:" + copy + ":1.0", "--variant", "int4-g32-gptq", "--offline",
        "--store", tmp.resolve("store").toString());
    assertTrue(p.waitFor(3, TimeUnit.MINUTES), "offline pull did not finish");
    assertEquals(0, p.exitValue(), read(log));
    String out = read(log).strip();
    Path pkgDir = Path.of(out.substring(out.lastIndexOf('\n') + 1));
    assertTrue(TestPackages.sameFiles(pkgs.get(2), pkgDir));
    // skopeo reads the layout too.
    DebianTools.Result raw = DebianTools.run(List.of(DebianTools.require("/usr/bin/skopeo", "skopeo").toString(),
        "inspect", "--raw", "oci:" + copy + ":1.0"), 120);
    assertEquals(0, raw.exit(), raw.stderr());
    assertEquals(HubFormat.RELEASE_ARTIFACT_TYPE, JSON.readTree(raw.stdout()).get("artifactType").asText());
  }

  @Test
  void measure_loopbackPullThroughput() {
    int bytes = 64 << 20;
    Reference ref = publishOne("big", bytes);
    try (Hub hub = Hub.open(options(tmp.resolve("store")))) {
      long t0 = System.nanoTime();
      InstalledVariant v = hub.pull(ref, "fp32", ProgressListener.NONE);
      double s = (System.nanoTime() - t0) / 1e9;
      System.out.printf("[measure] loopback pull of %d MiB (verified, stored, linked): %.2f s, %.0f MiB/s%n",
          v.bytesDownloaded() >> 20, s, v.bytesDownloaded() / s / (1 << 20));
    }
  }

  static String read(Path p) {
    try {
      return Files.readString(p);
    } catch (IOException e) {
      return "(unreadable: " + e + ")";
    }
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path dst = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dst);
        } else {
          Files.copy(p, dst);
        }
      }
    }
  }
}
