package dev.edgelm.it.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.Digest;
import dev.edgelm.it.daemon.ItModels;
import dev.edgelm.it.testing.EdgelmCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bytes that change on disk after a package was written or pulled are found before they are
 * served: the launcher as separate processes, on the shared stories260K package (a copy of it, with
 * one byte flipped; sizes unchanged, so only the sha256 can tell).
 */
class IntegrityIT {
  private static final Duration QUICK = Duration.ofMinutes(2);

  @TempDir Path tmp;

  @Test
  void damagedPackage_isRefusedByGenerateAndReportedByVerify_intactOneVerifies() throws Exception {
    Path copy = copyOf(ItModels.stories260K(), tmp.resolve("stories260K"));
    flipByte(copy.resolve("model.onnx"), 4096);

    EdgelmCommand.Result verify = EdgelmCommand.run(tmp, QUICK, "verify", copy.toString());
    assertEquals(3, verify.exit(), verify.err());
    assertEquals(1, verify.err().strip().lines().count(), "one line per damaged file: " + verify.err());
    assertTrue(verify.err().startsWith("edgelm: error: " + copy.resolve("model.onnx") + " does not match"), verify.err());

    EdgelmCommand.Result generate = EdgelmCommand.run(tmp, QUICK, "generate", "--model", copy.toString(), "--prompt", "Once", "--max-tokens", "4");
    assertEquals(3, generate.exit(), generate.err());
    assertEquals(1, generate.err().strip().lines().count(), generate.err());
    assertTrue(generate.err().contains("model.onnx does not match the sha256 digest in variant.json"), generate.err());
    assertEquals("", generate.out(), "nothing was generated from the damaged package");

    EdgelmCommand.run(tmp, QUICK, "verify", ItModels.stories260K().toString()).assertSuccess();
  }

  @Test
  void storeBlobDamagedAfterPull_isReportedByVerify_andPullDownloadsItAgain() throws Exception {
    Path store = tmp.resolve("store");
    String ref = "oci:" + tmp.resolve("hub") + ":1";
    EdgelmCommand.run(tmp, QUICK, "publish", ItModels.stories260K().toString(), "--to", ref, "--store", tmp.resolve("pub").toString())
        .assertSuccess();
    EdgelmCommand.run(tmp, QUICK, "pull", ref, "--store", store.toString()).assertSuccess();
    Path blob = store.resolve("blobs/sha256").resolve(Digest.of(ItModels.stories260K().resolve("model.onnx")).hex());
    Files.setPosixFilePermissions(blob, PosixFilePermissions.fromString("rw-r--r--"));
    flipByte(blob, 4096);

    EdgelmCommand.Result damaged = EdgelmCommand.run(tmp, QUICK, "verify", "--store", store.toString());
    assertEquals(3, damaged.exit(), damaged.err());
    assertTrue(damaged.err().startsWith("edgelm: error: " + blob + " holds content with digest"), damaged.err());

    EdgelmCommand.run(tmp, QUICK, "pull", ref, "--store", store.toString()).assertSuccess();
    EdgelmCommand.run(tmp, QUICK, "verify", "--store", store.toString()).assertSuccess();
    EdgelmCommand.run(tmp, QUICK, "generate", "--model", store.resolve("packages").toFile().listFiles()[0].toString(),
        "--prompt", "Once", "--max-tokens", "4").assertSuccess();
  }

  @Test
  void readOnlyCommands_onAMistypedStore_failInOneLineAndCreateNothing() throws Exception {
    Path typo = tmp.resolve("no/such/store");
    for (String command : List.of("ls", "gc", "verify")) {
      EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, command, "--store", typo.toString());
      assertEquals(3, r.exit(), command + ": " + r.err());
      assertEquals(1, r.err().strip().lines().count(), r.err());
      assertTrue(r.err().contains("no store at " + typo), r.err());
    }
    assertFalse(Files.exists(tmp.resolve("no")), "nothing was created");
  }

  private static void flipByte(Path file, int at) throws Exception {
    byte[] b = Files.readAllBytes(file);
    b[at] ^= 0x01;
    Files.write(file, b);
  }

  private static Path copyOf(Path from, Path to) throws Exception {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }
}
