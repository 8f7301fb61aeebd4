package dev.edgelm.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.testing.FakeRegistry;
import dev.edgelm.hub.testing.FakeTime;
import dev.edgelm.hub.testing.LoopbackProxy;
import dev.edgelm.hub.testing.TestPackages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP side against an in-process registry: retries, auth, resume, bandwidth, sharing. */
class RegistryHubTest {
  private static final RetryPolicy FAST = RetryPolicy.DEFAULT.withJitter(0);
  @TempDir Path tmp;
  private final FakeTime time = new FakeTime();
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private FakeRegistry registry(FakeRegistry.Auth auth) throws IOException {
    FakeRegistry r = FakeRegistry.start(auth, auth == FakeRegistry.Auth.NONE ? null : "alice", "s3cret");
    closeables.add(r);
    return r;
  }

  private HubOptions options(String store) {
    return HubOptions.defaults(tmp.resolve(store)).withTime(time, time).withRetry(FAST).withMinFreeBytes(0);
  }

  private Path pkg(String id, int weightBytes, long seed) {
    return TestPackages.write(tmp.resolve("pkg").resolve(id), "tiny", id, id, weightBytes, seed);
  }

  private Reference publish(String authority, Credentials creds, Path... pkgs) {
    Reference ref = Reference.parse(authority + "/models/tiny:1");
    try (Hub hub = Hub.open(options("pub").withCredentials(creds == null ? Credentials.Provider.NONE : Credentials.Provider.of(creds)))) {
      hub.publish(List.of(pkgs), ref, PublishOptions.DEFAULT, ProgressListener.NONE);
    }
    return ref;
  }

  @Test
  void pull_overHttp_roundTrips() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("int8", 32 << 10, 1);
    Reference ref = publish(reg.authority(), null, p, pkg("fp32", 64 << 10, 2));
    try (Hub hub = Hub.open(options("store"))) {
      InstalledVariant v = hub.pull(ref, "int8", ProgressListener.NONE);
      assertTrue(TestPackages.sameFiles(p, v.packageDir()));
    }
  }

  @Test
  void pull_503Twice_succeedsAfterBackoff() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Reference ref = publish(reg.authority(), null, pkg("int8", 8 << 10, 1));
    reg.failNext(503, 2, null);
    List<String> retries = new ArrayList<>();
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(ref, "int8", new ProgressListener() {
        @Override
        public void retrying(int attempt, Duration delay, String reason) {
          retries.add(attempt + " " + delay.toMillis());
        }
      });
    }
    assertEquals(List.of(Duration.ofMillis(500), Duration.ofMillis(1000)), time.sleeps());
    assertEquals(List.of("1 500", "2 1000"), retries);
  }

  @Test
  void pull_429WithRetryAfter_waitsWhatTheServerSays() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Reference ref = publish(reg.authority(), null, pkg("int8", 8 << 10, 1));
    reg.failNext(429, 1, "3");
    try (Hub hub = Hub.open(options("store"))) {
      hub.resolve(ref);
    }
    assertEquals(List.of(Duration.ofSeconds(3)), time.sleeps());
  }

  @Test
  void pull_retryAfterTooLong_failsAsUnavailable() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Reference ref = publish(reg.authority(), null, pkg("int8", 8 << 10, 1));
    reg.failNext(503, 1, "3600");
    try (Hub hub = Hub.open(options("store"))) {
      UnavailableException e = assertThrows(UnavailableException.class, () -> hub.resolve(ref));
      assertTrue(e.isRetryable());
      assertTrue(e.getMessage().contains("3600"), e.getMessage());
    }
  }

  @Test
  void pull_503Forever_givesUpAfterMaxAttempts() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Reference ref = publish(reg.authority(), null, pkg("int8", 8 << 10, 1));
    reg.failNext(503, 100, null);
    int before = reg.requests().size();
    try (Hub hub = Hub.open(options("store"))) {
      UnavailableException e = assertThrows(UnavailableException.class, () -> hub.resolve(ref));
      assertTrue(e.getMessage().contains("503"), e.getMessage());
    }
    assertEquals(RetryPolicy.DEFAULT_MAX_ATTEMPTS, reg.requests().size() - before);
    assertEquals(List.of(500L, 1000L, 2000L, 4000L), time.sleeps().stream().map(Duration::toMillis).toList());
  }

  @Test
  void pull_404_isNotRetried() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Reference ref = publish(reg.authority(), null, pkg("int8", 8 << 10, 1));
    int before = reg.requests().size();
    try (Hub hub = Hub.open(options("store"))) {
      NotFoundException e = assertThrows(NotFoundException.class, () -> hub.resolve(ref.withTag("nope")));
      assertTrue(e.getMessage().contains("nope"), e.getMessage());
    }
    assertEquals(1, reg.requests().size() - before);
    assertTrue(time.sleeps().isEmpty());
  }

  @Test
  void pull_400_isNotRetried() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Reference ref = publish(reg.authority(), null, pkg("int8", 8 << 10, 1));
    reg.failNext(400, 1, null);
    try (Hub hub = Hub.open(options("store"))) {
      assertThrows(RequestRejectedException.class, () -> hub.resolve(ref));
    }
    assertTrue(time.sleeps().isEmpty());
  }

  @Test
  void connectionRefused_isRetriedThenUnavailable() throws IOException {
    int port;
    try (var s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      port = s.getLocalPort();
    }
    try (Hub hub = Hub.open(options("store").withRetry(FAST.withMaxAttempts(3)))) {
      UnavailableException e = assertThrows(UnavailableException.class, () -> hub.resolve(Reference.parse("127.0.0.1:" + port + "/m:1")));
      assertTrue(e.getMessage().contains("cannot reach"), e.getMessage());
    }
    assertEquals(2, time.sleeps().size());
  }

  // ---- auth ---------------------------------------------------------------------------------------

  @Test
  void basicAuth_noCredentials_failsWithMissingCredentials() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.BASIC);
    Reference ref = publish(reg.authority(), new Credentials("alice", "s3cret"), pkg("int8", 8 << 10, 1));
    try (Hub hub = Hub.open(options("store"))) {
      AuthException e = assertThrows(AuthException.class, () -> hub.resolve(ref));
      assertEquals(AuthException.Reason.MISSING_CREDENTIALS, e.reason());
    }
  }

  @Test
  void basicAuth_wrongPassword_failsWithRejectedCredentials() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.BASIC);
    Reference ref = publish(reg.authority(), new Credentials("alice", "s3cret"), pkg("int8", 8 << 10, 1));
    try (Hub hub = Hub.open(options("store").withCredentials(Credentials.Provider.of(new Credentials("alice", "nope"))))) {
      AuthException e = assertThrows(AuthException.class, () -> hub.resolve(ref));
      assertEquals(AuthException.Reason.REJECTED_CREDENTIALS, e.reason());
      assertTrue(e.getMessage().contains("alice"), e.getMessage());
      assertFalse(e.getMessage().contains("nope"), "the password must not appear in messages");
    }
  }

  @Test
  void bearerAuth_tokenFlow_pulls() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.BEARER);
    Path p = pkg("int8", 8 << 10, 1);
    Reference ref = publish(reg.authority(), new Credentials("alice", "s3cret"), p);
    try (Hub hub = Hub.open(options("store").withCredentials(Credentials.Provider.of(new Credentials("alice", "s3cret"))))) {
      assertTrue(TestPackages.sameFiles(p, hub.pull(ref, "int8", ProgressListener.NONE).packageDir()));
    }
    long tokenRequests = reg.requests().stream().filter(r -> r.startsWith("GET /token")).count();
    assertTrue(tokenRequests <= 4, "tokens are cached: " + tokenRequests);
  }

  @Test
  void bearerAuth_wrongPassword_failsAtTheTokenService() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.BEARER);
    Reference ref = publish(reg.authority(), new Credentials("alice", "s3cret"), pkg("int8", 8 << 10, 1));
    try (Hub hub = Hub.open(options("store").withCredentials(Credentials.Provider.of(new Credentials("alice", "wrong"))))) {
      AuthException e = assertThrows(AuthException.class, () -> hub.resolve(ref));
      assertEquals(AuthException.Reason.REJECTED_CREDENTIALS, e.reason());
    }
  }

  // ---- resume, integrity, bandwidth ---------------------------------------------------------------

  @Test
  void pull_connectionCutMidBlob_resumesWithRange() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("fp32", 1 << 20, 1);
    publish(reg.authority(), null, p);
    Digest weights = Digest.of(p.resolve("model.onnx.data"));
    try (LoopbackProxy proxy = LoopbackProxy.start(reg.port(), LoopbackProxy.Fault.none())) {
      Reference ref = Reference.parse(proxy.authority() + "/models/tiny:1");
      // Let the small files through, then cut the weights at 300 000 bytes, once.
      proxy.setFault(new LoopbackProxy.Fault(r -> r.isBlobGet() && r.path().contains(weights.hex()),
          LoopbackProxy.Fault.Kind.DROP_AFTER, 300_000, 1, null));
      try (Hub hub = Hub.open(options("store"))) {
        InstalledVariant v = hub.pull(ref, "fp32", ProgressListener.NONE);
        assertTrue(TestPackages.sameFiles(p, v.packageDir()));
      }
      List<LoopbackProxy.Exchange> gets = proxy.exchanges().stream().filter(e -> e.path().contains(weights.hex())).toList();
      assertEquals(2, gets.size(), gets.toString());
      // The client may lose what was still in flight when the connection broke, never more.
      long resumedAt = Long.parseLong(gets.get(1).range().replaceAll("bytes=(\\d+)-", "$1"));
      assertTrue(resumedAt > 0 && resumedAt <= 300_000, gets.toString());
      assertEquals((1 << 20) - resumedAt, gets.get(1).bodyBytes());
      assertTrue(proxy.blobBytesSent(weights.hex()) - (1 << 20) < (1 << 20) / 10, "re-fetched under 10%");
    }
  }

  @Test
  void pull_connectionCutWithoutRetries_leavesPartialThatTheNextPullResumes() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("fp32", 1 << 20, 1);
    publish(reg.authority(), null, p);
    Digest weights = Digest.of(p.resolve("model.onnx.data"));
    try (LoopbackProxy proxy = LoopbackProxy.start(reg.port(), new LoopbackProxy.Fault(
        r -> r.isBlobGet() && r.path().contains(weights.hex()), LoopbackProxy.Fault.Kind.DROP_AFTER, 700_000, 1, null))) {
      Reference ref = Reference.parse(proxy.authority() + "/models/tiny:1");
      try (Hub hub = Hub.open(options("store").withRetry(RetryPolicy.NONE))) {
        UnavailableException e = assertThrows(UnavailableException.class, () -> hub.pull(ref, "fp32", ProgressListener.NONE));
        assertTrue(e.getMessage().contains("resume"), e.getMessage());
      }
      long partial = Files.size(tmp.resolve("store/ingest").resolve(weights.hex() + ".partial"));
      assertTrue(partial > 0 && partial <= 700_000, "partial " + partial);
      proxy.clearLog();
      try (Hub hub = Hub.open(options("store"))) {
        InstalledVariant v = hub.pull(ref, "fp32", ProgressListener.NONE);
        assertTrue(TestPackages.sameFiles(p, v.packageDir()));
        assertEquals(partial, v.bytesReused() - Files.size(p.resolve("model.onnx")));
      }
      List<LoopbackProxy.Exchange> gets = proxy.exchanges().stream().filter(e -> e.path().contains(weights.hex())).toList();
      assertEquals(1, gets.size(), gets.toString());
      assertEquals("bytes=" + partial + "-", gets.get(0).range());
      assertEquals((1 << 20) - partial, gets.get(0).bodyBytes(), "the second pull fetched only the rest");
    }
  }

  @Test
  void pull_serverIgnoresRange_startsOverAndVerifies() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("fp32", 256 << 10, 1);
    publish(reg.authority(), null, p);
    Digest weights = Digest.of(p.resolve("model.onnx.data"));
    reg.ignoreRange(true);
    try (LoopbackProxy proxy = LoopbackProxy.start(reg.port(), new LoopbackProxy.Fault(
        r -> r.isBlobGet() && r.path().contains(weights.hex()), LoopbackProxy.Fault.Kind.DROP_AFTER, 100_000, 1, null))) {
      try (Hub hub = Hub.open(options("store"))) {
        InstalledVariant v = hub.pull(Reference.parse(proxy.authority() + "/models/tiny:1"), "fp32", ProgressListener.NONE);
        assertTrue(TestPackages.sameFiles(p, v.packageDir()));
      }
    }
  }

  @Test
  void pull_flippedByte_failsWithIntegrityError() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("fp32", 64 << 10, 1);
    publish(reg.authority(), null, p);
    Digest weights = Digest.of(p.resolve("model.onnx.data"));
    try (LoopbackProxy proxy = LoopbackProxy.start(reg.port(), new LoopbackProxy.Fault(
        r -> r.isBlobGet() && r.path().contains(weights.hex()), LoopbackProxy.Fault.Kind.FLIP_BYTE, 5000, -1, null))) {
      try (Hub hub = Hub.open(options("store"))) {
        IntegrityException e = assertThrows(IntegrityException.class,
            () -> hub.pull(Reference.parse(proxy.authority() + "/models/tiny:1"), "fp32", ProgressListener.NONE));
        assertTrue(e.getMessage().contains("model.onnx.data"), e.getMessage());
        assertFalse(Files.exists(tmp.resolve("store/ingest").resolve(weights.hex() + ".partial")));
        assertFalse(Files.exists(tmp.resolve("store/blobs/sha256").resolve(weights.hex())));
        assertTrue(hub.store().list().isEmpty());
      }
    }
  }

  @Test
  void pull_bandwidthLimit_holdsTheRate() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("fp32", 1 << 20, 1);
    Reference ref = publish(reg.authority(), null, p);
    long limit = 256 << 10;
    try (Hub hub = Hub.open(options("store").withBandwidthLimit(limit))) {
      long start = time.nanoTime();
      InstalledVariant v = hub.pull(ref, "fp32", ProgressListener.NONE);
      double seconds = (time.nanoTime() - start) / 1e9;
      double expected = v.bytesDownloaded() / (double) limit;
      assertTrue(seconds > expected - 0.1 && seconds < expected + 0.1, seconds + " s for " + expected + " s expected");
    }
  }

  @Test
  void pull_concurrentPullsOfOneVariant_shareOneDownload() throws Exception {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("fp32", 2 << 20, 1);
    Reference ref = publish(reg.authority(), null, p);
    Digest weights = Digest.of(p.resolve("model.onnx.data"));
    int before = (int) reg.requests().stream().filter(r -> r.startsWith("GET") && r.contains(weights.hex())).count();
    ExecutorService pool = Executors.newFixedThreadPool(3);
    CountDownLatch go = new CountDownLatch(1);
    try (Hub hub = Hub.open(HubOptions.defaults(tmp.resolve("store")).withMinFreeBytes(0))) {
      Release r = hub.resolve(ref);
      List<Future<InstalledVariant>> fs = new ArrayList<>();
      for (int i = 0; i < 3; i++) {
        fs.add(pool.submit(() -> {
          go.await();
          return hub.pull(r, "fp32", ProgressListener.NONE);
        }));
      }
      go.countDown();
      for (Future<InstalledVariant> f : fs) {
        assertTrue(TestPackages.sameFiles(p, f.get().packageDir()));
      }
    } finally {
      pool.shutdown();
    }
    long gets = reg.requests().stream().filter(r -> r.startsWith("GET") && r.contains(weights.hex())).count() - before;
    assertEquals(1, gets);
  }

  @Test
  void offline_afterPull_resolvesAndPullsFromStore_andMissesOtherVariants() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("int8", 8 << 10, 1);
    Reference ref = publish(reg.authority(), null, p, pkg("fp32", 16 << 10, 2));
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(ref, "int8", ProgressListener.NONE);
    }
    reg.close();
    try (Hub hub = Hub.open(options("store").withOffline(true))) {
      Release r = hub.resolve(ref);
      assertTrue(r.fromStore());
      assertTrue(TestPackages.sameFiles(p, hub.pull(r, "int8", ProgressListener.NONE).packageDir()));
      assertThrows(OfflineMissException.class, () -> hub.pull(r, "fp32", ProgressListener.NONE));
      assertThrows(OfflineMissException.class, () -> hub.resolve(ref.withTag("2")));
    }
  }

  @Test
  void offline_blobDamagedAfterPull_isRefusedAsIntegrityErrorAndRemoved() throws IOException {
    FakeRegistry reg = registry(FakeRegistry.Auth.NONE);
    Path p = pkg("int8", 8 << 10, 1);
    Reference ref = publish(reg.authority(), null, p);
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(ref, "int8", ProgressListener.NONE);
    }
    reg.close();
    Path blob = tmp.resolve("store/blobs/sha256").resolve(Digest.of(p.resolve("model.onnx.data")).hex());
    java.nio.file.Files.setPosixFilePermissions(blob, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
    byte[] b = java.nio.file.Files.readAllBytes(blob);
    b[42] ^= 0x01;
    java.nio.file.Files.write(blob, b);
    try (Hub hub = Hub.open(options("store").withOffline(true))) {
      Release r = hub.resolve(ref);
      IntegrityException e = assertThrows(IntegrityException.class, () -> hub.pull(r, "int8", ProgressListener.NONE));
      assertTrue(e.getMessage().contains("model.onnx.data") && e.getMessage().contains("pull it again while online"), e.getMessage());
      assertFalse(java.nio.file.Files.exists(blob), "the damaged blob is removed, so the next online pull fetches it");
    }
  }
}
