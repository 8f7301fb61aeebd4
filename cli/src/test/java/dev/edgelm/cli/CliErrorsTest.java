package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * Bad input reaches the user as one line on stderr naming the problem, a non-zero exit status, and
 * no half-written output.
 */
class CliErrorsTest {
  @TempDir static Path shared;
  @TempDir Path tmp;

  static Path checkpoint;
  static Path pkg;

  @BeforeAll
  static void tinyModel() {
    checkpoint = shared.resolve("llama-tiny");
    SynthCheckpoint.write(Preset.LLAMA_TINY, 1, SafetensorsWriter.Dtype.F32, checkpoint);
    pkg = shared.resolve("llama-tiny-pkg");
    assertEquals(0, run("import", checkpoint.toString(), "--out", pkg.toString()).exit);
  }

  record Result(int exit, String err) {
    void assertOneLineError(int expectedExit, String... mentions) {
      assertEquals(expectedExit, exit, err);
      String[] lines = err.strip().split("\\R");
      assertEquals(1, lines.length, "expected one line on stderr, got: " + err);
      assertTrue(lines[0].startsWith("edgelm: error: "), lines[0]);
      for (String m : mentions) {
        assertTrue(lines[0].contains(m), "'" + lines[0] + "' should mention '" + m + "'");
      }
    }
  }

  static Result run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    return new Result(cl.execute(args), err.toString());
  }

  private Path copyCheckpoint() throws IOException {
    Path dir = Files.createDirectory(tmp.resolve("ckpt"));
    try (Stream<Path> files = Files.list(checkpoint)) {
      for (Path f : files.toList()) {
        Files.copy(f, dir.resolve(f.getFileName()));
      }
    }
    return dir;
  }

  private void assertImportFails(Path source, int exit, String... mentions) {
    Path out = tmp.resolve("out");
    run("import", source.toString(), "--out", out.toString()).assertOneLineError(exit, mentions);
    assertFalse(Files.exists(out), "no output directory may be left behind");
    try (Stream<Path> left = Files.list(tmp)) {
      assertTrue(left.noneMatch(p -> p.getFileName().toString().contains(".partial-")), "no staging directory may be left behind");
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }

  @Test
  void import_truncatedSafetensors() throws IOException {
    Path dir = copyCheckpoint();
    byte[] b = Files.readAllBytes(dir.resolve("model.safetensors"));
    Files.write(dir.resolve("model.safetensors"), Arrays.copyOf(b, b.length - 1000));
    assertImportFails(dir, ExitCodes.BAD_INPUT, "truncated", "model.safetensors");
  }

  @Test
  void import_corruptSafetensors() throws IOException {
    Path dir = copyCheckpoint();
    Files.writeString(dir.resolve("model.safetensors"), "garbage, not a checkpoint");
    assertImportFails(dir, ExitCodes.BAD_INPUT, "model.safetensors");
  }

  @Test
  void import_headerThatLiesAboutSizes() throws IOException {
    Path dir = copyCheckpoint();
    Path st = dir.resolve("model.safetensors");
    byte[] b = Files.readAllBytes(st);
    String s = new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    // model.norm.weight holds 64 floats: claim 32 with the same byte range.
    String patched = s.replaceFirst("(\"model\\.norm\\.weight\":\\{\"dtype\":\"F32\",\"shape\":\\[)64(\\])", "$132 $2");
    assertFalse(patched.equals(s), "test setup");
    Files.write(st, patched.getBytes(java.nio.charset.StandardCharsets.ISO_8859_1));
    assertImportFails(dir, ExitCodes.BAD_INPUT, "lies about sizes", "model.norm.weight");
  }

  @Test
  void import_unknownModelType() throws IOException {
    Path dir = copyCheckpoint();
    Files.writeString(dir.resolve("config.json"), Files.readString(dir.resolve("config.json")).replace("\"llama\"", "\"mamba\""));
    assertImportFails(dir, ExitCodes.BAD_INPUT, "model_type 'mamba'");
  }

  @Test
  void import_missingTokenizer() throws IOException {
    Path dir = copyCheckpoint();
    Files.delete(dir.resolve("tokenizer.bin"));
    assertImportFails(dir, ExitCodes.BAD_INPUT, "no tokenizer");
  }

  @Test
  void import_configWithFewerLayersThanTheCheckpoint_isRefusedUnlessAllowed() throws IOException {
    Path dir = gpt2FixtureWithLayers(3);
    assertImportFails(dir, ExitCodes.BAD_INPUT, "12 tensors (h.3.attn.c_attn.bias", "and 7 more", "--allow-unused");

    Path out = tmp.resolve("three-layers");
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    assertEquals(0, cl.execute("import", dir.toString(), "--out", out.toString(), "--allow-unused"), err.toString());
    assertTrue(err.toString().startsWith("edgelm: warning: left out 12 tensors (h.3.attn.c_attn.bias"), err.toString());
    assertEquals(3, dev.edgelm.engine.ModelPackage.open(out).descriptor().getArchitecture().getNumLayers());
  }

  /** gpt2-fixture (4 layers) whose config.json names {@code layers}; the weights and tokenizer are links to the shared files. */
  private Path gpt2FixtureWithLayers(int layers) throws IOException {
    Path src = dev.edgelm.engine.testing.SharedAssets.require("models/gpt2-fixture");
    Path dir = Files.createDirectory(tmp.resolve("gpt2-fixture-" + layers));
    try (Stream<Path> files = Files.list(src)) {
      for (Path f : files.toList()) {
        if (!f.getFileName().toString().equals("config.json")) {
          Files.createSymbolicLink(dir.resolve(f.getFileName()), f);
        }
      }
    }
    String config = Files.readString(src.resolve("config.json"));
    String patched = config.replaceFirst("\"n_layer\": 4", "\"n_layer\": " + layers);
    assertFalse(patched.equals(config), "test setup");
    Files.writeString(dir.resolve("config.json"), patched);
    return dir;
  }

  @Test
  void import_missingSource() {
    assertImportFails(tmp.resolve("nothing-here"), ExitCodes.BAD_INPUT, "does not exist");
  }

  @Test
  void import_outputExists_needsForce() throws IOException {
    Path out = Files.createDirectory(tmp.resolve("taken"));
    Files.writeString(out.resolve("keep.txt"), "precious");
    run("import", checkpoint.toString(), "--out", out.toString()).assertOneLineError(ExitCodes.USAGE, "--force");
    assertEquals("precious", Files.readString(out.resolve("keep.txt")), "no data is lost");
  }

  @Test
  void generate_emptyPrompt() {
    run("generate", "--model", pkg.toString(), "--prompt", "").assertOneLineError(ExitCodes.USAGE, "prompt is empty");
  }

  @Test
  void generate_promptLongerThanContext() {
    String longPrompt = "the harbour boats ".repeat(400);
    run("generate", "--model", pkg.toString(), "--prompt", longPrompt).assertOneLineError(ExitCodes.USAGE, "256");
  }

  @Test
  void generate_missingPackage() {
    run("generate", "--model", tmp.resolve("nope").toString(), "--prompt", "hi").assertOneLineError(ExitCodes.BAD_INPUT, "nope");
  }

  @Test
  void generate_badSamplingParameter() {
    run("generate", "--model", pkg.toString(), "--prompt", "hi", "--top-p", "1.5").assertOneLineError(ExitCodes.USAGE, "top_p");
  }

  @Test
  void eval_missingText() {
    run("eval", "--model", pkg.toString(), "--text", tmp.resolve("none.txt").toString()).assertOneLineError(ExitCodes.BAD_INPUT, "none.txt");
  }

  @Test
  void unknownFlag() {
    run("generate", "--modle", "x").assertOneLineError(ExitCodes.USAGE, "--modle");
  }

  @Test
  void synth_unknownPreset() {
    run("synth", "--preset", "gpt5", "--out", tmp.resolve("x").toString()).assertOneLineError(ExitCodes.USAGE, "gpt5", "gpt2-small");
  }
}
