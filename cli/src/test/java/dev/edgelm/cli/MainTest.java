package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class MainTest {
  @Test
  void everySubcommand_printsHelpAndExitsZero() {
    for (String name : Main.commandLine().getSubcommands().keySet()) {
      CommandLine cl = Main.commandLine();
      StringWriter out = new StringWriter();
      cl.setOut(new PrintWriter(out, true));
      assertEquals(0, cl.execute(name, "--help"), name + " --help");
      assertTrue(out.toString().startsWith("Usage: edgelm " + name), out.toString());
    }
  }
}
