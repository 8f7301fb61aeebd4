package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code edgelm verify}, and what the other commands do with a package or store whose bytes
 * changed after it was written: the real stories260K package, a byte flipped in a copy.
 */
class VerifyCommandTest {
  @TempDir static Path shared;
  @TempDir Path tmp;
  static Path pkg;

  @BeforeAll
  static void importStories() {
    pkg = shared.resolve("stories260K");
    Run r = run("import", SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", pkg.toString());
    assertEquals(0, r.exit, r.err);
  }

  record Run(int exit, String out, String err) {
    List<String> errLines() {
      return err.strip().lines().toList();
    }
  }

  static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @Test
  void verify_intactPackage_exitsZero() {
    Run r = run("verify", pkg.toString());
    assertEquals(ExitCodes.OK, r.exit, r.err);
    assertTrue(r.out.startsWith("ok  " + pkg), r.out);
  }

  @Test
  void verify_flippedBytes_oneLinePerDamagedFileAndExitThree() throws IOException {
    Path copy = copy(pkg, tmp.resolve("copy"));
    flipByte(copy.resolve("model.onnx"), 2000);
    flipByte(copy.resolve("tokenizer.bin"), 100);
    Run r = run("verify", copy.toString());
    assertEquals(ExitCodes.BAD_INPUT, r.exit, r.err);
    assertEquals(2, r.errLines().size(), r.err);
    assertTrue(r.errLines().get(0).startsWith("edgelm: error: " + copy.resolve("model.onnx") + " does not match the sha256"), r.err);
    assertTrue(r.errLines().get(1).startsWith("edgelm: error: " + copy.resolve("tokenizer.bin") + " does not match"), r.err);
    assertTrue(r.errLines().stream().allMatch(l -> l.endsWith("import or pull the package again")), r.err);
  }

  @Test
  void generateAndEval_flippedByte_refuseTheDamagedPackage() throws IOException {
    Path copy = copy(pkg, tmp.resolve("copy"));
    flipByte(copy.resolve("model.onnx"), 2000);
    for (Run r : List.of(run("generate", "--model", copy.toString(), "--prompt", "Once", "--max-tokens", "2"),
        run("eval", "--model", copy.toString(), "--text", SharedAssets.require("corpora/tinystories-valid.head32k.txt").toString()))) {
      assertEquals(ExitCodes.BAD_INPUT, r.exit, r.err);
      assertEquals(1, r.errLines().size(), r.err);
      assertTrue(r.err.contains("model.onnx does not match the sha256 digest in variant.json") && r.err.contains("edgelm verify"), r.err);
    }
  }

  @Test
  void verify_store_findsBitRotAfterPull_andPullRepairsIt() throws IOException {
    Path store = tmp.resolve("store");
    String ref = "oci:" + tmp.resolve("hub") + ":1";
    assertEquals(0, run("publish", pkg.toString(), "--to", ref, "--store", tmp.resolve("publisher").toString()).exit);
    assertEquals(0, run("pull", ref, "--store", store.toString()).exit);
    assertEquals(ExitCodes.OK, run("verify", "--store", store.toString()).exit);

    Path blob = store.resolve("blobs/sha256").resolve(sha256Hex(pkg.resolve("model.onnx")));
    Files.setPosixFilePermissions(blob, PosixFilePermissions.fromString("rw-r--r--"));
    flipByte(blob, 2000);
    Run damaged = run("verify", "--store", store.toString());
    assertEquals(ExitCodes.BAD_INPUT, damaged.exit, damaged.err);
    assertEquals(1, damaged.errLines().size(), damaged.err);
    assertTrue(damaged.err.startsWith("edgelm: error: " + blob + " holds content with digest"), damaged.err);
    assertTrue(damaged.err.contains("pull the release that uses it again"), damaged.err);

    Run pulled = run("pull", ref, "--store", store.toString());
    assertEquals(0, pulled.exit, pulled.err);
    assertTrue(pulled.err.contains("edgelm: warning: the store's copy of model.onnx") && pulled.err.contains("downloaded again"), pulled.err);
    assertEquals(ExitCodes.OK, run("verify", "--store", store.toString()).exit);
  }

  @Test
  void verify_missingStore_isOneLineErrorAndCreatesNothing() {
    Path typo = tmp.resolve("stroe");
    Run r = run("verify", "--store", typo.toString());
    assertEquals(ExitCodes.BAD_INPUT, r.exit, r.err);
    assertEquals(1, r.errLines().size(), r.err);
    assertTrue(r.err.contains("no store at " + typo), r.err);
    assertFalse(Files.exists(typo));
  }

  @Test
  void verify_packageWithoutVariantJson_saysThereIsNothingToCheckAgainst() {
    Run r = run("verify", SharedAssets.require("models/gpt2-fixture-onnx").toString());
    assertEquals(ExitCodes.BAD_INPUT, r.exit, r.err);
    assertTrue(r.err.contains("has no variant.json"), r.err);
  }

  @Test
  void verify_neitherPackageNorStore_isUsageError() {
    assertEquals(ExitCodes.USAGE, run("verify").exit);
  }

  private static String sha256Hex(Path file) throws IOException {
    try {
      return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    } catch (java.security.NoSuchAlgorithmException e) {
      throw new AssertionError(e);
    }
  }

  static void flipByte(Path file, int at) throws IOException {
    byte[] b = Files.readAllBytes(file);
    b[at] ^= 0x01;
    Files.write(file, b);
  }

  static Path copy(Path from, Path to) throws IOException {
    Files.createDirectories(to);
    try (Stream<Path> files = Files.list(from)) {
      for (Path f : files.toList()) {
        Files.copy(f, to.resolve(f.getFileName()));
      }
    }
    return to;
  }
}
