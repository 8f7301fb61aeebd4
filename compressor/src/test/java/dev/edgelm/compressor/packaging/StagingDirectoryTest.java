package dev.edgelm.compressor.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StagingDirectoryTest {
  @TempDir Path tmp;

  @Test
  void sweep_removesAPartialWhoseLockNobodyHolds() throws Exception {
    String uuid = UUID.randomUUID().toString();
    Path partial = Files.createDirectories(tmp.resolve(".pkg.partial-" + uuid));
    Files.write(partial.resolve("model.onnx.data"), new byte[4096]);
    Files.createFile(tmp.resolve(".pkg.partial-" + uuid + ".lock"));
    StagingDirectory.Swept s = StagingDirectory.sweep(tmp);
    assertEquals(List.of(partial), s.removed());
    assertEquals(4096, s.bytesFreed());
    assertEquals(List.of(), list(tmp), "the lock file goes with its partial");
  }

  @Test
  void sweep_leavesAPartialThatALiveWriterHolds() throws Exception {
    Path target = tmp.resolve("pkg");
    try (StagingDirectory live = StagingDirectory.create(target)) {
      StagingDirectory.Swept s = StagingDirectory.sweep(tmp);
      assertEquals(List.of(), s.removed());
      assertEquals(List.of(live.dir()), s.inUse());
      assertTrue(Files.isDirectory(live.dir()));
    }
    assertEquals(List.of(), list(tmp), "close removes the uncommitted partial and its lock");
  }

  @Test
  void sweep_leavesAPartialLockedThroughAnotherChannel() throws Exception {
    String uuid = UUID.randomUUID().toString();
    Path partial = Files.createDirectories(tmp.resolve(".pkg.partial-" + uuid));
    Path lockFile = tmp.resolve(".pkg.partial-" + uuid + ".lock");
    try (FileChannel c = FileChannel.open(lockFile, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        FileLock l = c.lock()) {
      assertEquals(List.of(partial), StagingDirectory.sweep(tmp).inUse());
    }
    assertEquals(List.of(partial), StagingDirectory.sweep(tmp).removed());
  }

  @Test
  void sweep_legacyPartialWithoutLock_removedOnlyOnceIdle() throws Exception {
    Path partial = Files.createDirectories(tmp.resolve(".pkg.partial-" + UUID.randomUUID()));
    Path data = Files.write(partial.resolve("model.onnx"), new byte[10]);
    assertEquals(List.of(partial), StagingDirectory.sweep(tmp).inUse(), "recently written: may still be written");
    FileTime old = FileTime.from(Instant.now().minus(StagingDirectory.LEGACY_IDLE).minusSeconds(60));
    Files.setLastModifiedTime(data, old);
    Files.setLastModifiedTime(partial, old);
    assertEquals(List.of(partial), StagingDirectory.sweep(tmp).removed());
  }

  @Test
  void sweep_restoresAPackageMovedAsideByAKilledReplacement() throws Exception {
    String uuid = UUID.randomUUID().toString();
    Path old = Files.createDirectories(tmp.resolve(".pkg.old-" + uuid));
    Files.writeString(old.resolve("variant.json"), "{}");
    Files.createFile(tmp.resolve(".pkg.partial-" + uuid + ".lock"));
    StagingDirectory.Swept s = StagingDirectory.sweep(tmp);
    assertEquals(List.of(tmp.resolve("pkg")), s.restored());
    assertEquals("{}", Files.readString(tmp.resolve("pkg/variant.json")));
  }

  @Test
  void sweep_neverTouchesOtherNames() throws Exception {
    Files.createDirectories(tmp.resolve(".git"));
    Files.createDirectories(tmp.resolve(".pkg.partial-notauuid"));
    Files.createDirectories(tmp.resolve("pkg.partial-" + UUID.randomUUID()));
    List<Path> before = list(tmp);
    StagingDirectory.sweep(tmp);
    assertEquals(before, list(tmp));
  }

  @Test
  void shutdownHook_removesWhatTheProcessWasWriting_andRestoresAReplacedPackage() throws Exception {
    Path target = tmp.resolve("pkg");
    Files.createDirectories(target);
    Files.writeString(target.resolve("variant.json"), "{\"id\":\"old\"}");
    StagingDirectory s = StagingDirectory.create(target);
    Files.write(s.dir().resolve("model.onnx.data"), new byte[1024]);
    StagingDirectory.closeAllOwned(); // what SIGTERM / SIGINT run
    assertEquals(List.of(target), list(tmp));
    assertEquals("{\"id\":\"old\"}", Files.readString(target.resolve("variant.json")));
    assertFalse(Files.exists(s.dir()));
  }

  @Test
  void commit_replaces_andLeavesNothingBeside() throws Exception {
    Path target = tmp.resolve("pkg");
    Files.createDirectories(target);
    Files.writeString(target.resolve("a"), "old");
    try (StagingDirectory s = StagingDirectory.create(target)) {
      Files.writeString(s.dir().resolve("b"), "new");
      s.commit(true);
    }
    assertEquals(List.of(target), list(tmp));
    assertEquals(List.of(target.resolve("b")), list(target));
  }

  private static List<Path> list(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }
}
