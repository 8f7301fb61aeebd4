package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Architecture;
import dev.edgelm.proto.v1.LayerPrune;
import dev.edgelm.proto.v1.PruneParams;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code compress --method prune} on stories260K (real model, real ONNX Runtime calibration). */
class CompressPruneCommandTest {
  @TempDir static Path tmp;
  static Path fp32;
  static Path calib;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @BeforeAll
  static void importStories() {
    fp32 = tmp.resolve("fp32");
    calib = SharedAssets.require("corpora/tinyshakespeare.txt");
    Run r = run("import", SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", fp32.toString());
    assertEquals(0, r.exit(), r.err());
  }

  @Test
  void prune_headsAndFfn_writesASmallerPackageThatRecordsWhatItKept() throws Exception {
    Path out = tmp.resolve("p20");
    Run r = run("compress", "--model", fp32.toString(), "--method", "prune", "--target-ratio", "0.2", "--calib", calib.toString(),
        "--calib-sequences", "8", "--calib-length", "128", "--out", out.toString());
    assertEquals(0, r.exit(), r.err());

    VariantDescriptor d = ModelPackage.open(out).descriptor();
    VariantDescriptor base = ModelPackage.open(fp32).descriptor();
    Architecture a = d.getArchitecture();
    assertEquals(5, a.getLayerIntermediateSizesCount());
    assertTrue(a.getLayerIntermediateSizesList().stream().allMatch(w -> w < 172 && w >= 120), a.toString());
    // Default granularity both, head group kv: a KV head leaves with its two query heads.
    assertEquals(List.of(6, 6, 6, 6, 6), a.getLayerNumHeadsList(), a.toString());
    assertEquals(List.of(3, 3, 3, 3, 3), a.getLayerNumKvHeadsList(), a.toString());
    assertEquals(base.getKvCacheBytesPerToken() * 3 / 4, d.getKvCacheBytesPerToken(), "the KV cache follows the kept KV heads");
    PruneParams p = d.getChain(0).getPrune();
    assertEquals("both", p.getGranularity());
    assertEquals("kv", p.getHeadGroup());
    assertEquals("lasso", p.getCriterion());
    assertTrue(p.getReweight() && p.getRefit());
    assertEquals(0.2, p.getRemovedRatio(), 0.03);
    assertEquals(5, p.getLayersCount());
    for (LayerPrune l : p.getLayersList()) {
      assertEquals(a.getLayerIntermediateSizes(l.getLayer()), l.getFfnChannelsKept());
      assertEquals(6, l.getKeptHeadsCount(), l.toString());
      assertTrue(l.getHeadLambda() > 0 && l.getHeadReconstructionError() > 0
          && l.getHeadReconstructionError() <= l.getHeadReconstructionErrorBeforeRefit() + 1e-9, l.toString());
      assertTrue(l.getLambda() > 0 && l.getRounds() > 1, l.toString());
      assertTrue(l.getReconstructionError() > 0 && l.getReconstructionError() <= l.getReconstructionErrorBeforeRefit() + 1e-9,
          "the refit never makes a layer's reconstruction worse: " + l);
    }
    assertTrue(d.getWeightBytes() < 0.9 * base.getWeightBytes(), "physically smaller: " + d.getWeightBytes());
    assertTrue(r.err().contains("embeddings and head excluded"), r.err());

    Run gen = run("generate", "--model", out.toString(), "--max-tokens", "8", "--prompt", "Once upon a time");
    assertEquals(0, gen.exit(), "the narrower graph runs: " + gen.err());
  }

  @Test
  void pruneThenInt4_chainsOnTheNarrowerModel() throws Exception {
    Path out = tmp.resolve("p30-int4");
    Run r = run("compress", "--model", fp32.toString(), "--method", "prune,int4", "--target-ratio", "0.3", "--criterion",
        "fluctuation", "--group-size", "32", "--calib", calib.toString(), "--calib-sequences", "8", "--calib-length", "128",
        "--out", out.toString());
    assertEquals(0, r.exit(), r.err());
    VariantDescriptor d = ModelPackage.open(out).descriptor();
    assertEquals(List.of("prune", "int4"), d.getChainList().stream().map(s -> s.getName()).toList());
    assertTrue(d.getRequirements().getOnnxOpsList().contains("com.microsoft:MatMulNBits"));
    assertEquals(5, d.getArchitecture().getLayerIntermediateSizesCount());
    Run gen = run("generate", "--model", out.toString(), "--max-tokens", "8", "--prompt", "Once upon a time");
    assertEquals(0, gen.exit(), gen.err());
  }

  @Test
  void badInput_isOneLineUsageErrorThatWritesNothing() {
    String o = tmp.resolve("bad").toString();
    String m = fp32.toString();
    String c = calib.toString();
    List<List<String>> cases = List.of(
        List.of("--target-ratio", "0", "--calib", c),
        List.of("--target-ratio", "0.95", "--calib", c),
        List.of("--target-ratio", "abc", "--calib", c),
        List.of("--calib", c),
        List.of("--target-ratio", "0.2"),
        List.of("--target-ratio", "0.2", "--calib", c, "--granularity", "rows"),
        List.of("--target-ratio", "0.2", "--calib", c, "--granularity", "heads", "--head-group", "query"),
        List.of("--target-ratio", "0.2", "--calib", c, "--head-group", "rows"),
        List.of("--target-ratio", "0.2", "--calib", c, "--granularity", "ffn", "--head-group", "kv"),
        List.of("--target-ratio", "0.2", "--calib", c, "--criterion", "random"),
        List.of("--target-ratio", "0.2", "--calib", c, "--criterion", "magnitude", "--no-reweight"),
        List.of("--target-ratio", "0.2", "--calib", c, "--granularity", "ffn", "--ffn-block", "172"),
        List.of("--target-ratio", "0.9", "--calib", c, "--granularity", "ffn"));
    List<String> expected = List.of("--target-ratio must be in (0, 0.9], got 0", "--target-ratio must be in (0, 0.9], got 0.95",
        "--target-ratio must be a number", "prune needs --target-ratio R", "prune needs calibration text",
        "--granularity must be heads, ffn or both",
        "needs more than the heads hold; with --granularity heads it can be at most 0.09", "--head-group must be kv or query",
        "--head-group applies to --granularity heads or both", "--criterion must be lasso, magnitude or fluctuation",
        "--no-reweight applies to --criterion lasso", "leaves layer 0 (172 FFN channels) one group",
        "needs more than the FFN blocks hold");
    for (int i = 0; i < cases.size(); i++) {
      List<String> args = new java.util.ArrayList<>(List.of("compress", "--model", m, "--method", "prune", "--out", o));
      args.addAll(cases.get(i));
      Run r = run(args.toArray(String[]::new));
      assertEquals(2, r.exit(), cases.get(i) + ": " + r.err());
      // Model-dependent checks run once the base and the calibration text are read (a progress line before them).
      assertEquals(1, r.err().lines().filter(l -> l.startsWith("edgelm: error:")).count(), cases.get(i) + ": " + r.err());
      assertTrue(r.err().strip().lines().reduce((a, b) -> b).orElse("").startsWith("edgelm: error:"), r.err());
      assertTrue(r.err().contains(expected.get(i)), cases.get(i) + ": " + r.err());
    }
    Run after = run("compress", "--model", m, "--method", "int4,prune", "--target-ratio", "0.2", "--calib", c, "--out", o);
    assertEquals(2, after.exit());
    assertTrue(after.err().contains("prune cannot follow int4: pruning needs the dense fp32 weights; put prune first"), after.err());
    Run kron = run("compress", "--model", m, "--method", "prune,kron", "--prune.target-ratio", "0.2", "--calib", c, "--out", o);
    assertEquals(2, kron.exit());
    assertEquals(1, kron.err().strip().lines().count(), kron.err());
    assertTrue(kron.err().contains("kron cannot follow prune"), kron.err());
    assertTrue(Files.notExists(tmp.resolve("bad")), "nothing written");
  }
}
