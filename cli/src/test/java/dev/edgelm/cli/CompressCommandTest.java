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
import java.util.List;
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
    assertTrue(method.err().contains("unknown method 'int3' in --method int3; methods are int8, int4, kron"), method.err());
  }

  @Test
  void compress_kronThenInt4_writesOnePackageThatRecordsBothSteps() {
    Path out = tmp.resolve("kron-int4");
    Run c = run("compress", "--model", fp32.toString(), "--method", "kron,int4", "--rank", "2", "--int4.accuracy-level", "0",
        "--out", out.toString());
    assertEquals(0, c.exit(), c.err());
    assertTrue(lastLine(c).matches("wrote kron-tq-gpt2-int4-g32-rtn to .*: kron [\\d,]+ parameters \\(0\\.\\d{4} of its input\\), .*"),
        lastLine(c));
    VariantDescriptor d = ModelPackage.open(out).descriptor();
    assertEquals("kron,int4", d.getMethod().getName());
    assertEquals(List.of("kron", "int4"), d.getChainList().stream().map(s -> s.getName()).toList());
    assertEquals(2, d.getChain(0).getKronecker().getMlpRank());
    assertEquals(0, d.getChain(1).getQuantization().getAccuracyLevel());
    assertTrue(d.getChain(1).getErrors().getMeanWeightError() > 0);
    assertTrue(d.getRequirements().getOnnxOpsList().containsAll(List.of("com.microsoft:MatMulNBits", "ai.onnx:Gather")));
  }

  @Test
  void compress_badChains_areOneLineUsageErrorsThatWriteNothing() {
    String o = tmp.resolve("o").toString();
    String m = fp32.toString();
    Run order = run("compress", "--model", m, "--method", "int4,kron", "--out", o);
    assertEquals(2, order.exit());
    assertEquals(1, order.err().lines().count(), order.err());
    assertTrue(order.err().contains("--method int4,kron: kron cannot follow int4: Kronecker factorisation needs fp32 weights;"
        + " put kron first, e.g. kron,int4"), order.err());
    Run twice = run("compress", "--model", m, "--method", "int8,int4", "--out", o);
    assertEquals(2, twice.exit());
    assertTrue(twice.err().contains("int4 cannot follow int8: the weights are already quantized"), twice.err());
    Run unknown = run("compress", "--model", m, "--method", "kron,tcsp", "--out", o);
    assertEquals(2, unknown.exit());
    assertTrue(unknown.err().contains("unknown method 'tcsp' in --method kron,tcsp"), unknown.err());
    Run missingStep = run("compress", "--model", m, "--method", "int4", "--kron.rank", "2", "--out", o);
    assertEquals(2, missingStep.exit());
    assertTrue(missingStep.err().contains("--kron.rank names step 'kron', which --method int4 does not have"), missingStep.err());
    assertTrue(Files.notExists(tmp.resolve("o")), "nothing written");
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
