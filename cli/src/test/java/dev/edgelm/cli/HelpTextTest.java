package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** What {@code --help} shows: whole-sentence summaries, each paragraph wrapped once at the terminal width. */
class HelpTextTest {
  private static String normalized(String s) {
    return s.replaceAll("\\s+", " ").strip();
  }

  private static String help(CommandLine cl) {
    StringWriter out = new StringWriter();
    cl.setUsageHelpWidth(80);
    cl.usage(new PrintWriter(out, true));
    return out.toString();
  }

  @Test
  void everyCommand_summaryIsOneWholeSentence() {
    for (Map.Entry<String, CommandLine> c : Main.commandLine().getSubcommands().entrySet()) {
      String[] description = c.getValue().getCommandSpec().usageMessage().description();
      assertTrue(description.length > 0, c.getKey());
      String summary = description[0];
      assertTrue(summary.endsWith("."), c.getKey() + ": summary '" + summary + "' must be a whole sentence");
      assertTrue(Character.isUpperCase(summary.charAt(0)), c.getKey() + ": " + summary);
    }
  }

  @Test
  void everyParagraph_isAWholeSentence_notAManuallyWrappedLine() {
    for (Map.Entry<String, CommandLine> c : Main.commandLine().getSubcommands().entrySet()) {
      for (String p : c.getValue().getCommandSpec().usageMessage().description()) {
        if (p.startsWith("  ")) {
          continue; // an example command line, shown verbatim
        }
        assertTrue(p.endsWith(".") || p.endsWith(":"), c.getKey() + ": paragraph ends mid-sentence: '" + p + "'");
        assertTrue(!Character.isLowerCase(p.charAt(0))
            || dev.edgelm.compressor.MethodChain.knownNames().stream().anyMatch(m -> p.startsWith(m + ":")),
            c.getKey() + ": paragraph starts mid-sentence: '" + p + "'");
      }
    }
  }

  @Test
  void help_neverBreaksInsideAWord() {
    List<String> failures = new ArrayList<>();
    for (Map.Entry<String, CommandLine> c : Main.commandLine().getSubcommands().entrySet()) {
      String shown = normalized(help(c.getValue()));
      for (String p : c.getValue().getCommandSpec().usageMessage().description()) {
        if (!shown.contains(normalized(p))) {
          failures.add(c.getKey() + ": description paragraph is not shown whole: " + p);
        }
      }
      for (OptionSpec o : c.getValue().getCommandSpec().options()) {
        for (String d : o.description()) {
          if (!d.contains("${") && !shown.contains(normalized(d))) {
            failures.add(c.getKey() + " " + o.longestName() + ": description is not shown whole: " + d);
          }
        }
      }
    }
    String top = normalized(help(Main.commandLine()));
    for (Map.Entry<String, CommandLine> c : Main.commandLine().getSubcommands().entrySet()) {
      String summary = c.getValue().getCommandSpec().usageMessage().description()[0];
      if (!top.contains(normalized(c.getKey() + " " + summary))) {
        failures.add("edgelm --help: summary of " + c.getKey() + " is not shown whole: " + summary);
      }
    }
    assertTrue(failures.isEmpty(), String.join("\n", failures));
  }

  @Test
  void noCommand_printsUsageToStderr_andExitsWithTheUsageStatus() {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    assertEquals(ExitCodes.USAGE, cl.execute());
    assertTrue(err.toString().startsWith("edgelm: error: no command given"), err.toString());
    assertTrue(err.toString().contains("quickstart"), err.toString());
    assertEquals("", out.toString());
  }
}
