package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code compress --method subspace}: bad input on stories260K (hidden 64, 8 heads) is one line, exit 2, nothing written. */
class CompressSubspaceCommandTest {
  @TempDir Path tmp;

  private record Run(int exit, String err) {}

  private static Run run(List<String> args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args.toArray(String[]::new)), err.toString());
  }

  @Test
  void badInput_isOneLineUsageErrorThatWritesNothing() throws IOException {
    Path fp32 = tmp.resolve("fp32");
    assertEquals(0, run(List.of("import", SharedAssets.require("models/stories260K/stories260K.bin").toString(),
        "--out", fp32.toString())).exit());
    String text = Files.readString(SharedAssets.require("corpora/tinyshakespeare.txt"), StandardCharsets.UTF_8);
    Path calib = Files.writeString(tmp.resolve("calib.txt"), text.substring(0, 20_000), StandardCharsets.UTF_8);
    String c = calib.toString();
    List<List<String>> cases = List.of(
        List.of("--hidden", "64", "--calib", c),
        List.of("--hidden", "60", "--calib", c),
        List.of("--target-ratio", "0.95", "--calib", c),
        List.of("--target-ratio", "1", "--calib", c),
        List.of("--hidden", "48", "--target-ratio", "0.2", "--calib", c),
        List.of("--target-ratio", "0.2"),
        List.of("--target-ratio", "0.2", "--per-boundary", "--calib", c));
    List<String> expected = List.of("not smaller than the hidden size 64", "K = 64 (rounded to a multiple of 16)",
        "below the 16 this model's 8 heads need", "--target-ratio must be in (0, 1)", "exactly one of --hidden K",
        "subspace needs calibration text", "--per-boundary (one basis per residual boundary) is not built yet");
    Path out = tmp.resolve("bad");
    for (int i = 0; i < cases.size(); i++) {
      List<String> args = new ArrayList<>(List.of("compress", "--model", fp32.toString(), "--method", "subspace",
          "--out", out.toString()));
      args.addAll(cases.get(i));
      Run r = run(args);
      assertEquals(2, r.exit(), cases.get(i) + ": " + r.err());
      assertEquals(1, r.err().lines().filter(l -> l.startsWith("edgelm: error:")).count(), cases.get(i) + ": " + r.err());
      assertTrue(r.err().strip().lines().reduce((a, b) -> b).orElse("").startsWith("edgelm: error:"), r.err());
      assertTrue(r.err().contains(expected.get(i)), cases.get(i) + ": " + r.err());
    }
    Run after = run(List.of("compress", "--model", fp32.toString(), "--method", "int4,subspace", "--target-ratio", "0.2",
        "--calib", c, "--out", out.toString()));
    assertEquals(2, after.exit());
    assertTrue(after.err().contains("subspace cannot follow int4"), after.err());
    assertTrue(Files.notExists(out), "nothing written");
  }
}
