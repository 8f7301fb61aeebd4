package dev.edgelm.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.testing.FakeTime;
import dev.edgelm.hub.testing.TestPackages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Publish and pull through an OCI image-layout directory: the format, the store, signatures, GC. */
class LayoutHubTest {
  @TempDir Path tmp;
  private List<Path> packages;
  private Reference release;
  private final FakeTime time = new FakeTime();

  @BeforeEach
  void setUp() {
    packages = List.of(
        TestPackages.write(tmp.resolve("pkg/fp32"), "tiny", "fp32", "fp32", 64 << 10, 1),
        TestPackages.write(tmp.resolve("pkg/int8"), "tiny", "int8", "int8", 16 << 10, 2),
        TestPackages.write(tmp.resolve("pkg/int4"), "tiny", "int4-g32", "int4", 8 << 10, 3));
    release = Reference.parse("oci:" + tmp.resolve("hub") + ":1.0");
  }

  private HubOptions options(String store) {
    return HubOptions.defaults(tmp.resolve(store)).withTime(time, time).withMinFreeBytes(0);
  }

  private PublishResult publish(PublishOptions po) {
    try (Hub hub = Hub.open(options("publisher-store"))) {
      return hub.publish(packages, release, po, ProgressListener.NONE);
    }
  }

  @Test
  void publish_threeVariants_indexListsThemWithAnnotations() {
    PublishResult published = publish(PublishOptions.DEFAULT);
    assertEquals(3, published.variants().size());
    try (Hub hub = Hub.open(options("store"))) {
      Release r = hub.resolve(release);
      assertEquals(published.indexDigest(), r.indexDigest());
      assertEquals("tiny", r.model());
      assertEquals(List.of("fp32", "int8", "int4-g32"), r.variantIds());
      VariantEntry int8 = r.variant("int8").orElseThrow();
      assertEquals("int8", int8.method());
      assertEquals(16 << 10, int8.weightBytes());
      assertEquals(1280, int8.kvCacheBytesPerToken());
      assertTrue(int8.perplexityRatio().isPresent());
      assertEquals(List.of("ai.onnx:MatMul", "com.microsoft:MatMulNBits"), int8.onnxOps());
      assertEquals(List.of("avx2"), int8.cpuFeatures());
      assertEquals(Files.exists(tmp.resolve("pkg/int8/model.onnx")) ? sizeOf(tmp.resolve("pkg/int8")) : -1, int8.downloadBytes());
      // The fixture's variant.json predates chains (method and text params only): the index carries
      // the chain its method describes, as structured JSON, and no comma-joined prose.
      assertEquals(32, int8.chain().get(0).getQuantization().getGroupSize());
      assertEquals(8, int8.chain().get(0).getQuantization().getBits());
      assertTrue(int8.annotations().get(HubFormat.CHAIN).startsWith("{\"steps\":[{\"name\":\"int8\""), int8.annotations().toString());
      assertTrue(!int8.annotations().containsKey(HubFormat.METHOD_PARAMS));
    }
  }

  @Test
  void publish_samePackagesTwice_givesTheSameIndexDigest() {
    Digest first = publish(PublishOptions.DEFAULT).indexDigest();
    assertEquals(first, publish(PublishOptions.DEFAULT).indexDigest());
  }

  @Test
  void details_fetchesDescriptorWithoutTouchingWeights() throws IOException {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      Release r = hub.resolve(release);
      VariantDetails d = hub.details(r, "int4-g32");
      assertEquals("int4-g32", d.descriptor().getId());
      assertEquals(3, d.files().size());
      for (PackageLayer l : d.files()) {
        assertFalse(Files.exists(tmp.resolve("store/blobs/sha256").resolve(l.digest().hex())), l.path() + " was fetched");
      }
    }
  }

  @Test
  void pull_oneVariant_filesAreByteIdentical() throws IOException {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      InstalledVariant v = hub.pull(release, "int8", ProgressListener.NONE);
      assertTrue(TestPackages.sameFiles(tmp.resolve("pkg/int8"), v.packageDir()));
      assertEquals("int8", v.descriptor().getId());
      assertEquals(sizeOf(tmp.resolve("pkg/int8")), v.bytesDownloaded());
      // Only this variant's weights are in the store.
      String fp32Weights = Digest.of(tmp.resolve("pkg/fp32/model.onnx.data")).hex();
      assertFalse(Files.exists(tmp.resolve("store/blobs/sha256").resolve(fp32Weights)));
    }
  }

  @Test
  void pull_storeBlobsAreReadOnlyAndPackageFilesAreLinks() throws IOException {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      InstalledVariant v = hub.pull(release, "int8", ProgressListener.NONE);
      Path weights = v.packageDir().resolve("model.onnx.data");
      Path blob = tmp.resolve("store/blobs/sha256").resolve(Digest.of(weights).hex());
      assertTrue(Files.isSameFile(weights, blob));
      assertEquals("r--r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(blob)));
    }
  }

  @Test
  void pull_twoVariants_sharedTokenizerStoredOnce() throws IOException {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(release, "int8", ProgressListener.NONE);
      InstalledVariant second = hub.pull(release, "int4-g32", ProgressListener.NONE);
      assertEquals(TestPackages.TOKENIZER.length, second.bytesReused());
      Path tok = tmp.resolve("store/blobs/sha256").resolve(Digest.of(TestPackages.TOKENIZER).hex());
      assertTrue(Files.exists(tok));
    }
  }

  @Test
  void pull_again_downloadsNothing() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(release, "int8", ProgressListener.NONE);
      InstalledVariant again = hub.pull(release, "int8", ProgressListener.NONE);
      assertEquals(0, again.bytesDownloaded());
    }
  }

  @Test
  void pull_unknownVariant_namesTheOnesThereAre() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      NotFoundException e = assertThrows(NotFoundException.class, () -> hub.pull(release, "int2", ProgressListener.NONE));
      assertTrue(e.getMessage().contains("fp32, int8, int4-g32"), e.getMessage());
    }
  }

  @Test
  void pull_missingTag_isNotFound() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      assertThrows(NotFoundException.class, () -> hub.resolve(release.withTag("9.9")));
    }
  }

  @Test
  void pull_corruptedBlobInLayout_failsWithIntegrityErrorAndInstallsNothing() throws IOException {
    publish(PublishOptions.DEFAULT);
    Path weights = tmp.resolve("hub/blobs/sha256").resolve(Digest.of(tmp.resolve("pkg/int8/model.onnx.data")).hex());
    byte[] b = Files.readAllBytes(weights);
    b[b.length / 2] ^= 0x01;
    Files.write(weights, b);
    try (Hub hub = Hub.open(options("store"))) {
      IntegrityException e = assertThrows(IntegrityException.class, () -> hub.pull(release, "int8", ProgressListener.NONE));
      assertTrue(e.getMessage().contains("model.onnx.data") && e.getMessage().contains("corrupt"), e.getMessage());
      assertTrue(hub.store().list().isEmpty());
      assertTrue(hub.store().find(release, "int8").isEmpty());
      assertEquals(0, count(tmp.resolve("store/ingest"), ".partial"));
      assertEquals(0, count(tmp.resolve("store/packages"), ""));
    }
  }

  @Test
  void pull_notEnoughDisk_failsBeforeFetching() throws IOException {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store").withDiskSpace(dir -> 1000).withMinFreeBytes(0))) {
      InsufficientDiskException e = assertThrows(InsufficientDiskException.class, () -> hub.pull(release, "fp32", ProgressListener.NONE));
      assertTrue(e.getMessage().contains("fp32"), e.getMessage());
      assertEquals(0, count(tmp.resolve("store/ingest"), ".partial"));
    }
  }

  @Test
  void pull_copiedLayoutOffline_works() throws IOException {
    publish(PublishOptions.DEFAULT);
    Path copy = tmp.resolve("usb-stick");
    copyTree(tmp.resolve("hub"), copy);
    try (Hub hub = Hub.open(options("store").withOffline(true))) {
      InstalledVariant v = hub.pull(Reference.parse("oci:" + copy + ":1.0"), "int4-g32", ProgressListener.NONE);
      assertTrue(TestPackages.sameFiles(tmp.resolve("pkg/int4"), v.packageDir()));
    }
  }

  @Test
  void progress_reportsTotalsAndFinishes() {
    publish(PublishOptions.DEFAULT);
    List<Progress> seen = new ArrayList<>();
    long[] started = new long[2];
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(release, "fp32", new ProgressListener() {
        @Override
        public void started(long total, long present, int files) {
          started[0] = total;
          started[1] = files;
        }

        @Override
        public void finished(Progress p) {
          seen.add(p);
        }
      });
    }
    assertEquals(sizeOf(tmp.resolve("pkg/fp32")), started[0]);
    assertEquals(3, started[1]);
    assertEquals(1, seen.size());
    assertEquals(seen.get(0).bytesTotal(), seen.get(0).bytesDone());
  }

  // ---- signatures -------------------------------------------------------------------------------

  @Test
  void require_unsignedRelease_isRefusedWithReason() {
    publish(PublishOptions.DEFAULT);
    KeyPair trusted = SigningKeys.generate();
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.REQUIRE, List.of(trusted.getPublic())))) {
      SignatureRejectedException e = assertThrows(SignatureRejectedException.class, () -> hub.resolve(release));
      assertTrue(e.getMessage().contains("unsigned"), e.getMessage());
    }
  }

  @Test
  void require_signedByUntrustedKey_isRefusedWithReason() {
    publish(PublishOptions.DEFAULT.withSigningKey(SigningKeys.generate().getPrivate()));
    KeyPair trusted = SigningKeys.generate();
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.REQUIRE, List.of(trusted.getPublic())))) {
      SignatureRejectedException e = assertThrows(SignatureRejectedException.class, () -> hub.resolve(release));
      assertTrue(e.getMessage().contains("not trusted"), e.getMessage());
    }
  }

  @Test
  void require_tamperedSignature_isRefusedAsInvalid() throws IOException {
    KeyPair key = SigningKeys.generate();
    PublishResult p = publish(PublishOptions.DEFAULT.withSigningKey(key.getPrivate()));
    // Find the 64-byte signature blob and flip a bit of it.
    try (Stream<Path> s = Files.list(tmp.resolve("hub/blobs/sha256"))) {
      for (Path b : s.toList()) {
        if (Files.size(b) == 64) {
          byte[] sig = Files.readAllBytes(b);
          sig[0] ^= 1;
          Files.write(b, sig);
        }
      }
    }
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.REQUIRE, List.of(key.getPublic())))) {
      HubException e = assertThrows(HubException.class, () -> hub.resolve(release));
      // The layout notices the blob no longer matches its digest, or the signature check does.
      assertTrue(e instanceof IntegrityException || e instanceof SignatureRejectedException, e.toString());
    }
    assertNotNull(p.signatureKeyId());
  }

  @Test
  void require_signatureOfAnotherIndex_isRefusedAsInvalid() {
    KeyPair key = SigningKeys.generate();
    PublishResult p = publish(PublishOptions.DEFAULT.withSigningKey(key.getPrivate()));
    // Re-publish different content under the same tag, then move the old signature onto it.
    packages = List.of(TestPackages.write(tmp.resolve("pkg/other"), "tiny", "fp32", "fp32", 4 << 10, 9));
    PublishResult q = publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("publisher-store"))) {
      // Copy the old signature manifest under the new index's signature tag.
      Path index = tmp.resolve("hub/index.json");
      String json = Files.readString(index);
      String oldTag = p.indexDigest().signatureTag();
      String newTag = q.indexDigest().signatureTag();
      Files.writeString(index, json.replace(oldTag, newTag));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.REQUIRE, List.of(key.getPublic())))) {
      SignatureRejectedException e = assertThrows(SignatureRejectedException.class, () -> hub.resolve(release));
      assertTrue(e.getMessage().contains("does not verify"), e.getMessage());
    }
  }

  @Test
  void require_signedByTrustedKey_pulls() {
    KeyPair key = SigningKeys.generate();
    publish(PublishOptions.DEFAULT.withSigningKey(key.getPrivate()));
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.REQUIRE, List.of(key.getPublic())))) {
      Release r = hub.resolve(release);
      assertEquals(SignatureCheck.Status.VERIFIED, r.signature().status());
      assertEquals(SigningKeys.keyId(key.getPublic()), r.signature().keyId());
      hub.pull(r, "int8", ProgressListener.NONE);
    }
  }

  @Test
  void sign_secondKey_keepsBothSignatures() {
    KeyPair a = SigningKeys.generate();
    KeyPair b = SigningKeys.generate();
    publish(PublishOptions.DEFAULT.withSigningKey(a.getPrivate()));
    try (Hub hub = Hub.open(options("publisher-store"))) {
      hub.sign(release, b.getPrivate());
    }
    for (KeyPair k : List.of(a, b)) {
      try (Hub hub = Hub.open(options("store-" + k.hashCode()).withSignatures(SignaturePolicy.REQUIRE, List.of(k.getPublic())))) {
        assertTrue(hub.resolve(release).signature().verified());
      }
    }
  }

  @Test
  void pull_handMadeReleaseWithForeignEntry_isRefused() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      Release r = hub.resolve(release);
      VariantEntry real = r.variant("int8").orElseThrow();
      VariantEntry forged = new VariantEntry("int8", Digest.of(new byte[] {1}), 1, real.method(), 0, 0, 0, 0,
          real.perplexityRatio(), List.of(), List.of(), List.of(), List.of(), java.util.Map.of());
      Release fake = new Release(r.reference(), r.indexDigest(), r.model(), r.annotations(), List.of(forged), r.signature(), false);
      assertThrows(InvalidReleaseException.class, () -> hub.pull(fake, "int8", ProgressListener.NONE));
    }
  }

  @Test
  void warn_unsignedRelease_pullsAndReportsIt() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.WARN, List.of(SigningKeys.generate().getPublic())))) {
      Release r = hub.resolve(release);
      assertEquals(SignatureCheck.Status.UNSIGNED, r.signature().status());
      hub.pull(r, "int8", ProgressListener.NONE);
    }
  }

  @Test
  void off_doesNotCheck() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store").withSignatures(SignaturePolicy.OFF, List.of()))) {
      assertEquals(SignatureCheck.Status.NOT_CHECKED, hub.resolve(release).signature().status());
    }
  }

  // ---- store: ls, remove, gc --------------------------------------------------------------------

  @Test
  void gc_afterRemove_freesBlobsAndKeepsOthers() throws IOException {
    publish(PublishOptions.DEFAULT);
    Reference other = Reference.parse("oci:" + tmp.resolve("hub2") + ":1");
    try (Hub hub = Hub.open(options("publisher-store"))) {
      hub.publish(List.of(TestPackages.write(tmp.resolve("pkg/b"), "b", "fp32", "fp32", 8 << 10, 7)), other,
          PublishOptions.DEFAULT, ProgressListener.NONE);
    }
    try (Hub hub = Hub.open(options("store"))) {
      InstalledVariant a = hub.pull(release, "int8", ProgressListener.NONE);
      InstalledVariant b = hub.pull(other, "fp32", ProgressListener.NONE);
      assertEquals(2, hub.store().list().size());
      GcResult nothing = hub.store().gc();
      assertEquals(0, nothing.blobsRemoved());
      assertTrue(hub.store().remove(release));
      GcResult gc = hub.store().gc();
      assertTrue(gc.blobsRemoved() >= 3, gc.toString());
      assertEquals(1, gc.packagesRemoved());
      assertFalse(Files.exists(a.packageDir()));
      assertTrue(TestPackages.sameFiles(tmp.resolve("pkg/b"), b.packageDir()));
      // The shared tokenizer blob is still referenced by the other release.
      assertTrue(Files.exists(tmp.resolve("store/blobs/sha256").resolve(Digest.of(TestPackages.TOKENIZER).hex())));
      assertEquals(1, hub.store().list().size());
    }
  }

  @Test
  void gc_idlePartial_isRemoved() throws IOException {
    Files.createDirectories(tmp.resolve("store/ingest"));
    Files.write(tmp.resolve("store/ingest").resolve("b".repeat(64) + ".partial"), new byte[10]);
    try (Hub hub = Hub.open(options("store"))) {
      assertEquals(1, hub.store().gc().partialsRemoved());
    }
  }

  @Test
  void ls_listsPulledVariants() {
    publish(PublishOptions.DEFAULT);
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(release, "int8", ProgressListener.NONE);
      hub.pull(release, "fp32", ProgressListener.NONE);
      StoredRelease r = hub.store().list().get(0);
      assertEquals(release.toString(), r.reference());
      assertEquals("tiny", r.model());
      assertEquals(List.of("fp32", "int8"), r.variants().stream().map(StoredRelease.StoredVariant::id).toList());
      assertTrue(hub.store().find(release, "int8").isPresent());
    }
  }

  @Test
  void publish_tamperedPackage_isRefused() throws IOException {
    Files.write(tmp.resolve("pkg/int8/model.onnx"), new byte[] {1, 2, 3});
    try (Hub hub = Hub.open(options("publisher-store"))) {
      InvalidReleaseException e = assertThrows(InvalidReleaseException.class,
          () -> hub.publish(packages, release, PublishOptions.DEFAULT, ProgressListener.NONE));
      assertTrue(e.getMessage().contains("modified after it was written"), e.getMessage());
    }
  }

  @Test
  void publish_duplicateVariantIds_isRefused() {
    try (Hub hub = Hub.open(options("publisher-store"))) {
      assertThrows(InvalidReleaseException.class,
          () -> hub.publish(List.of(packages.get(0), packages.get(0)), release, PublishOptions.DEFAULT, ProgressListener.NONE));
    }
  }

  @Test
  void publish_toLayout_isReadableAsPlainOci() throws IOException {
    publish(PublishOptions.DEFAULT);
    String index = Files.readString(tmp.resolve("hub/index.json"));
    assertTrue(index.contains("\"org.opencontainers.image.ref.name\":\"1.0\""), index);
    assertEquals("{\"imageLayoutVersion\":\"1.0.0\"}", Files.readString(tmp.resolve("hub/oci-layout")));
    assertArrayEquals(Files.readAllBytes(tmp.resolve("pkg/int8/variant.json")),
        Files.readAllBytes(tmp.resolve("hub/blobs/sha256").resolve(Digest.of(tmp.resolve("pkg/int8/variant.json")).hex())));
  }

  static long sizeOf(Path pkg) {
    try (Stream<Path> s = Files.list(pkg)) {
      return s.filter(p -> !p.getFileName().toString().equals("variant.json")).mapToLong(p -> {
        try {
          return Files.size(p);
        } catch (IOException e) {
          throw new AssertionError(e);
        }
      }).sum();
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  static long count(Path dir, String suffix) throws IOException {
    if (!Files.isDirectory(dir)) {
      return 0;
    }
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().endsWith(suffix)).count();
    }
  }

  static void copyTree(Path from, Path to) throws IOException {
    try (Stream<Path> s = Files.walk(from)) {
      for (Path p : s.toList()) {
        Path dst = to.resolve(from.relativize(p).toString());
        if (Files.isDirectory(p)) {
          Files.createDirectories(dst);
        } else {
          Files.copy(p, dst, StandardCopyOption.COPY_ATTRIBUTES);
        }
      }
    }
  }
}
