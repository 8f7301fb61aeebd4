package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.testing.SharedAssets;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class CompressCommandTest {
  @TempDir Path tmp;
  Path fp32;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @BeforeEach
  void importStories() {
    fp32 = tmp.resolve("fp32");
    Run r = run("import", SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", fp32.toString());
    assertEquals(0, r.exit(), r.err());
  }

  private static String lastLine(Run r) {
    return r.err().strip().lines().reduce((a, b) -> b).orElse("");
  }

  @Test
  void compress_int4Gptq_thenReport_recordsQualityInTheVariant() {
    Path calib = SharedAssets.require("corpora/tinyshakespeare.txt");
    Path int4 = tmp.resolve("int4");
    Run c = run("compress", "--model", fp32.toString(), "--method", "int4", "--algo", "gptq", "--calib", calib.toString(),
        "--calib-sequences", "16", "--out", int4.toString());
    assertEquals(0, c.exit(), c.err());
    assertTrue(lastLine(c).matches("wrote int4-g32-gptq to .* \\(0\\.\\d{3}x the fp32 package's .*\\)"), lastLine(c));
    assertEquals("16 sequences of 256 tokens spread evenly over tinyshakespeare.txt (" ,
        ModelPackage.open(int4).descriptor().getMethod().getParamsOrThrow("calibration").replaceAll("\\d[\\d,]* tokens\\)$", ""));

    Path text = SharedAssets.require("corpora/tinystories-valid.head32k.txt");
    Run r = run("report", "--base", fp32.toString(), int4.toString(), "--text", text.toString(), "--doc-separator", "<|endoftext|>",
        "--no-speed", "--out", tmp.resolve("report").toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(Files.exists(tmp.resolve("report/quality.png")));
    double ratio = ModelPackage.open(int4).descriptor().getQuality().getPerplexityRatio();
    assertTrue(ratio > 1 && ratio < 1.15, "ratio " + ratio);
  }

  @Test
  void compress_gptqWithoutCalibrationText_isOneLineUsageError() {
    Run r = run("compress", "--model", fp32.toString(), "--method", "int4", "--algo", "gptq", "--out", tmp.resolve("o").toString());
    assertEquals(2, r.exit());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("edgelm: error: --algo gptq needs calibration text; pass --calib FILE"), r.err());
  }

  @Test
  void compress_groupWiderThanTheModel_isOneLineUsageError() {
    Run r = run("compress", "--model", fp32.toString(), "--method", "int4", "--group-size", "128", "--out", tmp.resolve("o").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("int4 group size 128 is wider than layers.0.attn.qkv (64 inputs); use --group-size 64 or less"), r.err());
    assertTrue(Files.notExists(tmp.resolve("o")), "nothing written");
  }

  @Test
  void compress_optionsOfAnotherMethod_areUsageErrors() {
    Run group = run("compress", "--model", fp32.toString(), "--method", "int8", "--group-size", "32", "--out", tmp.resolve("o").toString());
    assertEquals(2, group.exit());
    assertTrue(group.err().contains("--group-size applies to int4"), group.err());
    Run level = run("compress", "--model", fp32.toString(), "--method", "int8", "--accuracy-level", "0", "--out", tmp.resolve("o").toString());
    assertEquals(2, level.exit());
    Run method = run("compress", "--model", fp32.toString(), "--method", "int3", "--out", tmp.resolve("o").toString());
    assertEquals(2, method.exit());
    assertTrue(method.err().contains("--method must be int8, int4 or kron"), method.err());
  }

  @Test
  void compress_aVariantInsteadOfTheFp32Package_saysWhichToUse() {
    Path int8 = tmp.resolve("int8");
    assertEquals(0, run("compress", "--model", fp32.toString(), "--method", "int8", "--out", int8.toString()).exit());
    Run r = run("compress", "--model", int8.toString(), "--method", "int4", "--out", tmp.resolve("o").toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("compress the fp32 package made by 'edgelm import' instead"), r.err());
  }
}
