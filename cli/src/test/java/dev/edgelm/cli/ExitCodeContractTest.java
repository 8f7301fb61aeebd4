package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.cli.hub.HubErrors;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.hub.IntegrityException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The README's exit-status contract, over every command: 2 the command line was wrong, 3 an input file is missing or
 * corrupt, each with one line on stderr that names the file once.
 */
class ExitCodeContractTest {
  @TempDir static Path tmp;
  private static Path pkg;

  private record Run(int exit, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), err.toString());
  }

  @BeforeAll
  static void importStories() {
    pkg = tmp.resolve("pkg");
    Run r = run("import", SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", pkg.toString());
    assertEquals(0, r.exit(), r.err());
  }

  @Test
  void everyCommand_anUnknownFlagIsExit2() {
    List<String> wrong = new ArrayList<>();
    for (String command : Main.commandLine().getSubcommands().keySet()) {
      Run r = run(command, "--no-such-flag");
      if (r.exit() != ExitCodes.USAGE || r.err().strip().lines().count() != 1) {
        wrong.add(command + " -> " + r.exit() + ": " + r.err());
      }
    }
    assertTrue(wrong.isEmpty(), String.join("\n", wrong));
  }

  @Test
  void everyCommand_aMissingInputFileIsExit3_namedOnce() {
    String missing = tmp.resolve("missing-file").toString();
    String store = tmp.resolve("store").toString();
    String[][] cases = {
        {"import", missing, "--out", tmp.resolve("o-import").toString()},
        {"import", SharedAssets.require("models/gpt2-fixture").toString(), "--tokenizer", missing, "--out", tmp.resolve("o-tok").toString()},
        {"generate", "--model", missing, "--prompt", "x"},
        {"eval", "--model", pkg.toString(), "--text", missing},
        {"compress", "--model", missing, "--method", "int8", "--out", tmp.resolve("o-c").toString()},
        {"compress", "--model", pkg.toString(), "--method", "int4", "--algo", "gptq", "--calib", missing, "--out", tmp.resolve("o-calib").toString()},
        {"report", "--base", pkg.toString(), pkg.toString(), "--text", missing, "--out", tmp.resolve("o-report").toString()},
        {"bench", "--model", missing},
        {"publish", missing, "--to", "oci:" + tmp.resolve("hub") + ":1", "--store", store},
        {"publish", pkg.toString(), "--to", "oci:" + tmp.resolve("hub") + ":1", "--sign", missing, "--store", store},
        {"pull", "oci:" + tmp.resolve("hub") + ":1", "--trusted-key", missing, "--store", store},
        {"select", "oci:" + tmp.resolve("hub") + ":1", "--trusted-key", missing, "--store", store},
    };
    List<String> wrong = new ArrayList<>();
    for (String[] c : cases) {
      Run r = run(c);
      String err = r.err().strip();
      String last = err.lines().reduce((a, b) -> b).orElse("");
      int named = last.split(java.util.regex.Pattern.quote(missing), -1).length - 1;
      if (r.exit() != ExitCodes.BAD_INPUT || !last.startsWith("edgelm: error: ") || named != 1) {
        wrong.add(String.join(" ", c).replace(tmp.toString(), "$TMP") + "\n  -> " + r.exit() + ": " + err.replace(tmp.toString(), "$TMP"));
      }
    }
    assertTrue(wrong.isEmpty(), "not exit 3 with one line naming the file once:\n" + String.join("\n", wrong));
  }

  @Test
  void aCorruptHubBlob_isBadInput() {
    assertEquals(ExitCodes.BAD_INPUT, HubErrors.exitCode(new IntegrityException("blob sha256:ab… does not match its digest")));
  }
}
