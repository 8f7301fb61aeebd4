package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.engine.testing.ToyDecoder;
import dev.edgelm.proto.FileDigests;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Every file variant.json lists is hashed before a package is used; unchanged files are hashed once per process. */
class PackageVerificationTest {
  @TempDir Path tmp;
  private Path pkg;
  private final AtomicInteger hashes = new AtomicInteger();
  private final FileDigests counting = new FileDigests(file -> {
    hashes.incrementAndGet();
    return FileDigests.hash(file);
  });

  @BeforeEach
  void setUp() throws IOException {
    pkg = ToyDecoder.write(tmp.resolve("toy"), ToyDecoder.Shape.ALL_LOGITS);
    Files.writeString(pkg.resolve("tokenizer.json"), "{\"model\": {\"type\": \"BPE\"}}", StandardCharsets.UTF_8);
    listWithDigests(pkg, "model.onnx", "tokenizer.json");
  }

  @Test
  void open_flippedByteSameSize_isRefusedNamingTheFile() throws IOException {
    Path copy = copyOf(pkg, "copy");
    flipByte(copy.resolve("model.onnx"), 40);
    assertEquals(Files.size(pkg.resolve("model.onnx")), Files.size(copy.resolve("model.onnx")));

    CorruptPackageException e = assertThrows(CorruptPackageException.class, () -> ModelPackage.open(copy));
    assertEquals(copy.resolve("model.onnx"), e.file());
    assertTrue(e.getMessage().contains("model.onnx does not match the sha256 digest in variant.json"), e.getMessage());
    assertTrue(e.getMessage().contains("edgelm verify " + copy), e.getMessage());
    assertFalse(e.getMessage().contains("\n"), "one line");
  }

  @Test
  void open_flippedTokenizerByte_isRefused() throws IOException {
    Path copy = copyOf(pkg, "copy");
    flipByte(copy.resolve("tokenizer.json"), 3);
    CorruptPackageException e = assertThrows(CorruptPackageException.class, () -> ModelPackage.open(copy));
    assertEquals(copy.resolve("tokenizer.json"), e.file());
  }

  @Test
  void open_unchangedCopy_isAcceptedAndLoads() {
    Path copy = copyOf(pkg, "copy");
    ModelPackage opened = ModelPackage.open(copy, counting);
    assertEquals(2, hashes.get(), "both listed files hashed");
    try (DecoderModel m = DecoderModel.load(opened, SessionSettings.DEFAULTS, dev.edgelm.engine.testing.FakeTokenizer.of("a", "b", "c", "d", "e", "f", "g", "h"))) {
      assertEquals(ToyDecoder.CONTEXT, m.contextLength());
    }
  }

  @Test
  void open_again_hitsTheCacheWithoutHashing() {
    ModelPackage.open(pkg, counting);
    ModelPackage.open(pkg, counting);
    ModelPackage.open(pkg, counting);
    assertEquals(2, hashes.get(), "each file hashed once, however often the package is opened");
  }

  @Test
  void open_fileRewrittenAfterItWasHashed_isHashedAgainAndRefused() throws IOException {
    ModelPackage.open(pkg, counting);
    assertEquals(2, hashes.get());
    flipByte(pkg.resolve("model.onnx"), 40);
    // Same size, same inode; the write moved the modification time on, and that is what the cache sees.
    assertThrows(CorruptPackageException.class, () -> ModelPackage.open(pkg, counting));
    assertEquals(3, hashes.get(), "the changed file was hashed again, the unchanged one was not");
  }

  @Test
  void open_fileEditedInPlaceWithItsModificationTimeSetBack_isStillHashedAgain() throws IOException {
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.getFileStore(pkg).supportsFileAttributeView("unix"), "needs the inode change time");
    ModelPackage.open(pkg, counting);
    FileTime mtime = Files.getLastModifiedTime(pkg.resolve("model.onnx"));
    flipByte(pkg.resolve("model.onnx"), 40);
    Files.setLastModifiedTime(pkg.resolve("model.onnx"), mtime); // size, mtime and inode as before; only ctime moved
    assertThrows(CorruptPackageException.class, () -> ModelPackage.open(pkg, counting));
    assertEquals(3, hashes.get());
  }

  @Test
  void describe_readsTheDescriptorWithoutHashing() throws IOException {
    Path copy = copyOf(pkg, "copy");
    flipByte(copy.resolve("model.onnx"), 40);
    assertEquals("toy-all_logits", ModelPackage.describe(copy).getId());
  }

  @Test
  void verify_reportsEveryDamagedFile() throws IOException {
    Path copy = copyOf(pkg, "copy");
    assertTrue(ModelPackage.verify(copy).ok());
    flipByte(copy.resolve("model.onnx"), 40);
    flipByte(copy.resolve("tokenizer.json"), 3);
    ModelPackage.Verification v = ModelPackage.verify(copy);
    assertFalse(v.ok());
    assertEquals(2, v.filesChecked());
    assertEquals(2, v.problems().size(), v.problems().toString());
    assertEquals(copy.resolve("model.onnx"), v.problems().get(0).file());
    assertTrue(v.problems().get(0).digestMismatch());
    assertEquals(copy.resolve("tokenizer.json"), v.problems().get(1).file());

    Files.delete(copy.resolve("tokenizer.json"));
    v = ModelPackage.verify(copy);
    assertTrue(v.problems().get(1).problem().contains("is missing"), v.problems().toString());
  }

  @Test
  void verify_packageWithoutVariantJson_isNotOk() {
    ModelPackage.Verification v = ModelPackage.verify(dev.edgelm.engine.testing.SharedAssets.require("models/gpt2-fixture-onnx"));
    assertTrue(v.descriptorInferred());
    assertFalse(v.ok());
  }

  /** Rewrites one byte in place: same size; the modification time moves on, as a write makes it. */
  static void flipByte(Path file, int at) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[at] ^= 0x01;
    FileTime before = Files.getLastModifiedTime(file);
    Files.write(file, b);
    if (Files.getLastModifiedTime(file).equals(before)) {
      Files.setLastModifiedTime(file, FileTime.fromMillis(before.toMillis() + 1000));
    }
  }

  private Path copyOf(Path from, String name) {
    Path to = tmp.resolve(name);
    try {
      Files.createDirectories(to);
      try (var files = Files.list(from)) {
        for (Path f : files.toList()) {
          Files.copy(f, to.resolve(f.getFileName()));
        }
      }
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    }
    return to;
  }

  private static void listWithDigests(Path dir, String... files) throws IOException {
    VariantDescriptor.Builder d = VariantDescriptor.newBuilder();
    JsonFormat.parser().merge(Files.readString(dir.resolve("variant.json")), d);
    for (String f : files) {
      d.addFiles(PackageFile.newBuilder().setPath(f).setSize(Files.size(dir.resolve(f)))
          .setDigest(FileDigests.hash(dir.resolve(f))).setRole(f.startsWith("tokenizer") ? "tokenizer" : "model"));
    }
    Files.writeString(dir.resolve("variant.json"), JsonFormat.printer().print(d.build()));
  }
}
