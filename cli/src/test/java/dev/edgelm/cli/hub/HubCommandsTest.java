package dev.edgelm.cli.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.cli.Main;
import dev.edgelm.hub.Progress;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class HubCommandsTest {
  @TempDir Path tmp;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @Test
  void parseRate_suffixes() {
    assertEquals(512 << 10, HubOptionsMixin.parseRate("512K"));
    assertEquals(5L << 20, HubOptionsMixin.parseRate("5M"));
    assertEquals(1536, HubOptionsMixin.parseRate("1.5k"));
    assertThrows(IllegalArgumentException.class, () -> HubOptionsMixin.parseRate("fast"));
  }

  @Test
  void pull_badReference_isOneLineUsageError() {
    Run r = run("pull", "no-host/repo:1", "--store", tmp.toString());
    assertEquals(2, r.exit());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("edgelm: error: bad reference"), r.err());
  }

  @Test
  void pull_requireWithoutKeys_isUsageError() {
    Run r = run("pull", "oci:" + tmp.resolve("x") + ":1", "--verify", "require", "--store", tmp.toString());
    assertEquals(2, r.exit());
    assertTrue(r.err().contains("--trusted-key"), r.err());
  }

  @Test
  void keygen_writesBothFilesAndRefusesToOverwrite() {
    String prefix = tmp.resolve("k").toString();
    Run r = run("keygen", "--out", prefix);
    assertEquals(0, r.exit(), r.err());
    assertTrue(Files.exists(tmp.resolve("k.key")) && Files.exists(tmp.resolve("k.pub")));
    assertTrue(r.out().startsWith("sha256:"));
    Run again = run("keygen", "--out", prefix);
    assertEquals(2, again.exit());
    assertTrue(again.err().contains("already exists"), again.err());
  }

  @Test
  void ls_emptyStore_saysSo() {
    Run r = run("ls", "--store", tmp.resolve("store").toString());
    assertEquals(0, r.exit());
    assertTrue(r.err().contains("holds no releases"), r.err());
  }

  @Test
  void progressLine_showsBytesRateAndEta() {
    String line = ProgressBar.line(new Progress(5 << 20, 10 << 20, 1 << 20, "model.onnx.data"));
    assertTrue(line.contains(" 50%"), line);
    assertTrue(line.contains("5.0 MiB/10.0 MiB"), line);
    assertTrue(line.contains("1.0 MiB/s"), line);
    assertTrue(line.contains("ETA 5s"), line);
    assertTrue(line.endsWith("model.onnx.data"), line);
  }
}
