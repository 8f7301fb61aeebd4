package dev.edgelm.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.testing.FakeTime;
import dev.edgelm.hub.testing.TestPackages;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bytes that rot in the store after a pull are found: pull re-verifies what it reuses, verify reports it. */
class StoreIntegrityTest {
  @TempDir Path tmp;
  private final FakeTime time = new FakeTime();
  private Reference release;
  private Path pkg;

  @BeforeEach
  void setUp() {
    pkg = TestPackages.write(tmp.resolve("pkg/int8"), "tiny", "int8", "int8", 32 << 10, 7);
    release = Reference.parse("oci:" + tmp.resolve("hub") + ":1.0");
    try (Hub hub = Hub.open(options("publisher-store"))) {
      hub.publish(List.of(pkg), release, PublishOptions.DEFAULT, ProgressListener.NONE);
    }
  }

  private HubOptions options(String store) {
    return HubOptions.defaults(tmp.resolve(store)).withTime(time, time).withMinFreeBytes(0);
  }

  @Test
  void pull_blobDamagedAfterPull_isDetectedAndDownloadedAgain() throws IOException {
    long weights = Files.size(pkg.resolve("model.onnx.data"));
    try (Hub hub = Hub.open(options("store"))) {
      InstalledVariant first = hub.pull(release, "int8", ProgressListener.NONE);
      Path blob = blob("store", pkg.resolve("model.onnx.data"));
      damage(blob, 1000);

      List<String> damagedSeen = new java.util.ArrayList<>();
      InstalledVariant again = hub.pull(release, "int8", new ProgressListener() {
        @Override
        public void damagedInStore(String file, Digest digest) {
          damagedSeen.add(file);
        }
      });

      assertEquals(List.of("model.onnx.data"), damagedSeen, "the listener hears which file was damaged");

      assertEquals(weights, again.bytesDownloaded(), "the damaged file, and only it, was fetched again");
      assertArrayEquals(Files.readAllBytes(pkg.resolve("model.onnx.data")), Files.readAllBytes(again.packageDir().resolve("model.onnx.data")));
      assertEquals(first.packageDir(), again.packageDir());
      assertTrue(hub.store().verify().ok(), hub.store().verify().toString());
    }
  }

  @Test
  void pull_intactStore_reusesEverything() {
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(release, "int8", ProgressListener.NONE);
      assertEquals(0, hub.pull(release, "int8", ProgressListener.NONE).bytesDownloaded());
    }
  }

  @Test
  void verify_damagedBlob_isReportedAndLeftInPlace() throws IOException {
    try (Hub hub = Hub.open(options("store"))) {
      hub.pull(release, "int8", ProgressListener.NONE);
      StoreVerification clean = hub.store().verify();
      assertTrue(clean.ok());
      assertTrue(clean.filesChecked() >= 5, "three files, the config, the manifest and the index: " + clean);

      Path blob = blob("store", pkg.resolve("model.onnx"));
      damage(blob, 10);
      StoreVerification v = hub.store().verify();

      assertFalse(v.ok());
      assertEquals(1, v.damaged().size(), v.toString());
      assertEquals(blob, v.damaged().get(0).file());
      assertTrue(v.damaged().get(0).problem().contains("pull"), v.damaged().get(0).problem());
      assertTrue(Files.exists(blob), "verify changes nothing");
    }
  }

  private Path blob(String store, Path sameContent) throws IOException {
    return tmp.resolve(store).resolve("blobs/sha256").resolve(Digest.of(sameContent).hex());
  }

  /** Flips one byte in place, keeping the size: what bit rot looks like to a size check. */
  private static void damage(Path file, int at) throws IOException {
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-r--r--"));
    byte[] b = Files.readAllBytes(file);
    b[at] ^= 0x01;
    Files.write(file, b);
    Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("r--r--r--"));
  }
}
