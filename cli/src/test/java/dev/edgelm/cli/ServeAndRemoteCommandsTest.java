package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code edgelm serve} and {@code edgelm generate --remote}: what they print and how they fail (the daemon itself is tested in its module and DaemonIT). */
class ServeAndRemoteCommandsTest {
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
  void serve_describeConfig_printsEveryKey() {
    Run r = run("serve", "--describe-config");
    assertEquals(0, r.exit(), r.err());
    for (String key : new String[] {"server.grpc_port", "auth.api_keys", "cache.memory_budget", "generation.max_buffered_messages",
        "models.<name>.ref", "EDGELMD_SERVER_DRAIN_TIMEOUT"}) {
      assertTrue(r.out().contains(key), key);
    }
  }

  @Test
  void serve_badKey_isOneLineUsageErrorNamingIt() {
    Run r = run("serve", "--set", "server.grpc_prot=1");
    assertEquals(ExitCodes.USAGE, r.exit());
    assertEquals(1, r.err().strip().lines().count(), r.err());
    assertTrue(r.err().startsWith("edgelm: error: config key server.grpc_prot:"), r.err());
    assertTrue(r.err().contains("server.grpc_port"), r.err());
  }

  @Test
  void serve_modelThatIsNotAPackage_namesTheKey() {
    Run r = run("serve", "--model", tmp.resolve("nothing-here").toString(), "--port", "0");
    assertEquals(ExitCodes.USAGE, r.exit());
    assertTrue(r.err().contains("models.nothing-here.path"), r.err());
  }

  @Test
  void generate_remoteOptionsWithoutRemote_isAUsageError() {
    Run r = run("generate", "--model", "x", "--prompt", "p", "--api-key", "k");
    assertEquals(ExitCodes.USAGE, r.exit());
    assertTrue(r.err().contains("only apply with --remote"), r.err());
  }

  @Test
  void generate_remote_badAddressOrNoDaemon_failsWithOneLine() {
    Run bad = run("generate", "--remote", "localhost", "--model", "x", "--prompt", "p");
    assertEquals(ExitCodes.USAGE, bad.exit());
    assertTrue(bad.err().contains("HOST:PORT"), bad.err());
    Run none = run("generate", "--remote", "127.0.0.1:1", "--model", "x", "--prompt", "p", "--wait", "0s");
    assertEquals(ExitCodes.FAILURE, none.exit());
    assertTrue(none.err().contains("UNAVAILABLE") && none.err().contains("cannot reach the daemon"), none.err());
  }

  @Test
  void generate_maxTokensZero_isTheSameUsageErrorLocallyAndRemote() {
    Run local = run("generate", "--model", tmp.resolve("none").toString(), "--prompt", "p", "--max-tokens", "0");
    Run remote = run("generate", "--remote", "127.0.0.1:1", "--model", "x", "--prompt", "p", "--max-tokens", "0", "--wait", "0s");
    for (Run r : new Run[] {local, remote}) {
      assertEquals(ExitCodes.USAGE, r.exit(), r.err());
      assertTrue(r.err().contains("--max-tokens must be at least 1, got 0"), r.err());
    }
  }

  @Test
  void generate_threadsWithRemote_isRefusedNotIgnored() {
    Run r = run("generate", "--remote", "127.0.0.1:1", "--model", "x", "--prompt", "p", "--threads", "4", "--wait", "0s");
    assertEquals(ExitCodes.USAGE, r.exit(), r.err());
    assertTrue(r.err().contains("--threads") && r.err().contains("runtime.intra_op_threads"), r.err());
  }
}
