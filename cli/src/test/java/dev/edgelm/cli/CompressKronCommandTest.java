package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code edgelm compress --method kron} on stories260K (needs ../shared; skipped without it). */
class CompressKronCommandTest {
  @TempDir Path tmp;
  Path fp32;

  private record Run(int exit, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), err.toString());
  }

  @BeforeEach
  void importStories() {
    fp32 = tmp.resolve("fp32");
    Run r = run("import", SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", fp32.toString());
    assertEquals(0, r.exit(), r.err());
  }

  @Test
  void compressKron_autoWithCalibration_writesTheFactoredVariantAndItsLayerReport() throws Exception {
    Path calib = SharedAssets.require("corpora/tinyshakespeare.txt");
    Path out = tmp.resolve("kron");
    Path layers = tmp.resolve("layers.md");
    Run r = run("compress", "--model", fp32.toString(), "--method", "kron", "--preset", "auto", "--target-ratio", "0.7",
        "--calib", calib.toString(), "--calib-sequences", "8", "--refit-steps", "2", "--layer-report", layers.toString(),
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.err().contains("refit on activations"), r.err());
    VariantDescriptor d = ModelPackage.open(out).descriptor();
    assertEquals("kron-auto-als", d.getId());
    assertEquals("kron", d.getMethod().getName());
    assertTrue(d.getMethod().getParamsOrThrow("refit").startsWith("activation-aware ALS, 2 block groups"));
    assertEquals(ModelPackage.open(fp32).descriptor().getBaseModelDigest(), d.getBaseModelDigest());
    double ratio = (double) d.getParameterCount() / ModelPackage.open(fp32).descriptor().getParameterCount();
    assertEquals(0.7, ratio, 0.03);
    assertTrue(Files.readString(layers).contains("| layers.1.mlp.up |"));
    String figures = d.getMethod().getParamsOrThrow("layer.layers.1.mlp.up");
    assertTrue(figures.matches(".*weight error \\d\\.\\d{4} → \\d\\.\\d{4} with permutations.*"
        + "calibration output error \\d\\.\\d{4} weight-only → \\d\\.\\d{4} refit.*"), figures);
    assertTrue(Files.exists(tmp.resolve("layers.md.json")));
  }

  @Test
  void compressKron_tqGpt2WithoutCalibration_isTheWeightOnlyFit() {
    Path out = tmp.resolve("kron");
    Run r = run("compress", "--model", fp32.toString(), "--method", "kron", "--rank", "2", "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    VariantDescriptor d = ModelPackage.open(out).descriptor();
    assertEquals("kron-tq-gpt2", d.getId());
    assertEquals("2", d.getMethod().getParamsOrThrow("mlp_rank"));
    assertEquals("none (weight-space fit)", d.getMethod().getParamsOrThrow("refit"));
  }

  @Test
  void compressKron_optionsThatDoNotApply_areOneLineUsageErrors() {
    String o = tmp.resolve("o").toString();
    String m = fp32.toString();
    assertUsage(run("compress", "--model", m, "--method", "kron", "--preset", "auto", "--rank", "2", "--out", o), "--rank applies to --preset tq-gpt2");
    assertUsage(run("compress", "--model", m, "--method", "kron", "--target-ratio", "0.5", "--out", o), "--target-ratio applies to --preset auto");
    assertUsage(run("compress", "--model", m, "--method", "kron", "--group-size", "32", "--out", o), "--group-size does not apply to --method kron; it applies to --method int8/int4");
    assertUsage(run("compress", "--model", m, "--method", "kron", "--refit-steps", "2", "--out", o), "pass --calib FILE");
    assertUsage(run("compress", "--model", m, "--method", "kron", "--preset", "tq", "--out", o), "--preset must be tq-gpt2 or auto");
    assertUsage(run("compress", "--model", m, "--method", "kron", "--preset", "auto", "--target-ratio", "1.2", "--out", o), "target ratio");
    assertUsage(run("compress", "--model", m, "--method", "int8", "--preset", "auto", "--out", o), "--preset does not apply to --method int8; it applies to --method kron");
    assertTrue(Files.notExists(tmp.resolve("o")), "nothing written");
  }

  private static void assertUsage(Run r, String message) {
    assertEquals(2, r.exit(), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().contains(message), r.err());
  }
}
