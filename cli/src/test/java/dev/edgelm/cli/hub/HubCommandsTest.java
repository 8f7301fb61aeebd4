package dev.edgelm.cli.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.edgelm.cli.Main;
import dev.edgelm.hub.Progress;
import dev.edgelm.hub.SignaturePolicy;
import dev.edgelm.hub.testing.TestPackages;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
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
  void signaturePolicy_requireOnceAKeyIsTrusted_unlessVerifySaysOtherwise() {
    assertEquals(SignaturePolicy.WARN, HubOptionsMixin.signaturePolicy(null, false));
    assertEquals(SignaturePolicy.REQUIRE, HubOptionsMixin.signaturePolicy(null, true));
    assertEquals(SignaturePolicy.WARN, HubOptionsMixin.signaturePolicy("warn", true));
    assertEquals(SignaturePolicy.OFF, HubOptionsMixin.signaturePolicy("OFF", false));
    assertThrows(IllegalArgumentException.class, () -> HubOptionsMixin.signaturePolicy("require", false));
  }

  @Test
  void publishUnsigned_warns_andAHostTrustingAKeyRefusesIt() {
    Path pkg = TestPackages.write(tmp.resolve("pkg"), "tiny", "fp32", "fp32", 4 << 10, 3);
    String ref = "oci:" + tmp.resolve("hub") + ":1";
    Run published = run("publish", pkg.toString(), "--to", ref, "--store", tmp.resolve("p").toString());
    assertEquals(0, published.exit(), published.err());
    assertTrue(published.err().contains("warning: publishing") && published.err().contains("unsigned")
        && published.err().contains("--sign"), published.err());

    assertEquals(0, run("keygen", "--out", tmp.resolve("k").toString()).exit());
    Run pulled = run("pull", ref, "--trusted-key", tmp.resolve("k.pub").toString(), "--store", tmp.resolve("store").toString());
    assertEquals(1, pulled.exit(), pulled.err());
    assertTrue(pulled.err().contains("unsigned"), pulled.err());
    Run warned = run("pull", ref, "--trusted-key", tmp.resolve("k.pub").toString(), "--verify", "warn",
        "--store", tmp.resolve("store").toString());
    assertEquals(0, warned.exit(), warned.err());
  }

  @Test
  void storeOnlyCommands_offerNoRegistryOrTrustFlags() {
    for (String command : new String[] {"ls", "rm", "gc"}) {
      CommandLine sub = Main.commandLine().getSubcommands().get(command);
      for (String flag : new String[] {"--plain-http", "--username", "--verify", "--trusted-key", "--offline", "--limit-rate"}) {
        assertTrue(sub.getCommandSpec().findOption(flag) == null, command + " " + flag);
      }
      assertTrue(sub.getCommandSpec().findOption("--store") != null, command);
    }
    CommandLine publish = Main.commandLine().getSubcommands().get("publish");
    for (String flag : new String[] {"--verify", "--trusted-key", "--offline", "--limit-rate"}) {
      assertTrue(publish.getCommandSpec().findOption(flag) == null, "publish " + flag);
    }
    assertTrue(publish.getCommandSpec().findOption("--username") != null);
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
  void ls_emptyStore_saysSo() throws java.io.IOException {
    Files.createDirectories(tmp.resolve("store"));
    Run r = run("ls", "--store", tmp.resolve("store").toString());
    assertEquals(0, r.exit());
    assertTrue(r.err().contains("holds no releases"), r.err());
  }

  @ParameterizedTest
  @ValueSource(strings = {"ls", "gc", "rm"})
  void readOnlyCommand_mistypedStore_isOneLineErrorAndCreatesNothing(String command) {
    Path typo = tmp.resolve("nested/stroe");
    Run r = command.equals("rm") ? run("rm", "oci:" + tmp.resolve("hub") + ":1", "--store", typo.toString())
        : run(command, "--store", typo.toString());
    assertEquals(3, r.exit(), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("edgelm: error: no store at " + typo + " (--store)"), r.err());
    assertFalse(Files.exists(tmp.resolve("nested")), "nothing is created");
  }

  @Test
  void readOnlyCommand_storeIsAFile_isOneLineError() throws java.io.IOException {
    Path file = Files.writeString(tmp.resolve("notes.txt"), "x");
    Run r = run("ls", "--store", file.toString());
    assertEquals(3, r.exit(), r.err());
    assertTrue(r.err().contains("is not a directory"), r.err());
  }

  @Test
  void ls_defaultStoreNotCreatedYet_saysSoAndCreatesNothing() {
    assumeTrue(System.getenv("EDGELM_STORE") == null && System.getenv("XDG_DATA_HOME") == null, "the default store comes from the environment here");
    String home = System.getProperty("user.home");
    System.setProperty("user.home", tmp.resolve("home").toString());
    try {
      Run r = run("ls");
      assertEquals(0, r.exit(), r.err());
      assertTrue(r.err().contains("holds no releases"), r.err());
      Run gc = run("gc");
      assertEquals(0, gc.exit(), gc.err());
      assertTrue(gc.out().contains("nothing to collect"), gc.out());
      assertFalse(Files.exists(tmp.resolve("home")), "no default store is created by a query");
    } finally {
      System.setProperty("user.home", home);
    }
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
