package dev.edgelm.cli;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import picocli.CommandLine;
import picocli.CommandLine.Help;
import picocli.CommandLine.Model.ArgSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.PositionalParamSpec;

/**
 * How {@code --help} lays out text: each paragraph wrapped once at the usage width, and only at spaces (picocli's
 * own layout breaks inside words after '.' or ',', so "e.g." or "~/.local" came out split over two lines).
 */
final class HelpLayout {
  private static final int MAX_NAME_COLUMN = 30;

  private HelpLayout() {}

  /** Uses this layout for {@code cl} and all its subcommands. */
  static CommandLine install(CommandLine cl) {
    Map<String, CommandLine.IHelpSectionRenderer> sections = cl.getHelpSectionMap();
    sections.put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_DESCRIPTION, HelpLayout::description);
    sections.put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_PARAMETER_LIST, HelpLayout::parameters);
    sections.put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_OPTION_LIST, HelpLayout::options);
    sections.put(CommandLine.Model.UsageMessageSpec.SECTION_KEY_COMMAND_LIST, HelpLayout::commands);
    cl.setHelpSectionMap(sections);
    for (CommandLine sub : cl.getSubcommands().values()) {
      install(sub);
    }
    return cl;
  }

  private static int width(Help help) {
    return help.commandSpec().usageMessage().width();
  }

  private static String description(Help help) {
    StringBuilder out = new StringBuilder();
    for (String paragraph : help.commandSpec().usageMessage().description()) {
      if (paragraph.startsWith(" ")) {
        out.append(paragraph).append('\n'); // an example, verbatim
      } else {
        for (String line : wrap(paragraph, width(help))) {
          out.append(line).append('\n');
        }
      }
    }
    return out.toString();
  }

  private static String parameters(Help help) {
    return table(parameterRows(help), width(help), nameColumn(help));
  }

  private static String options(Help help) {
    return table(optionRows(help), width(help), nameColumn(help));
  }

  private static String commands(Help help) {
    List<String[]> rows = new ArrayList<>();
    for (Map.Entry<String, Help> sub : help.subcommands().entrySet()) {
      String[] description = sub.getValue().commandSpec().usageMessage().description();
      rows.add(new String[] {"  " + sub.getKey(), description.length == 0 ? "" : description[0]});
    }
    return rows.isEmpty() ? "" : table(rows, width(help), column(rows));
  }

  private static List<String[]> parameterRows(Help help) {
    List<String[]> rows = new ArrayList<>();
    for (PositionalParamSpec p : help.commandSpec().positionalParameters()) {
      if (!p.hidden()) {
        rows.add(new String[] {"      " + p.paramLabel(), describe(p)});
      }
    }
    return rows;
  }

  private static List<String[]> optionRows(Help help) {
    List<OptionSpec> options = new ArrayList<>(help.commandSpec().options());
    options.removeIf(OptionSpec::hidden);
    options.sort(help.createDefaultOptionSort());
    List<String[]> rows = new ArrayList<>();
    for (OptionSpec o : options) {
      String[] names = o.names().clone();
      Arrays.sort(names, Comparator.comparingInt(String::length));
      boolean hasShort = names[0].length() == 2 && names[0].charAt(0) == '-' && names[0].charAt(1) != '-';
      String label = o.arity().max() > 0 ? "=" + o.paramLabel() : "";
      rows.add(new String[] {(hasShort ? "  " : "      ") + String.join(", ", names) + label, describe(o)});
    }
    return rows;
  }

  /** One text column for the parameters and the options, so both lists line up. */
  private static int nameColumn(Help help) {
    List<String[]> all = new ArrayList<>(parameterRows(help));
    all.addAll(optionRows(help));
    return column(all);
  }

  private static int column(List<String[]> rows) {
    int column = 0;
    for (String[] r : rows) {
      if (r[0].length() <= MAX_NAME_COLUMN) {
        column = Math.max(column, r[0].length());
      }
    }
    return column + 3;
  }

  private static String describe(ArgSpec arg) {
    return String.join(" ", arg.renderedDescription());
  }

  /**
   * Two columns: names, then the text wrapped beside them (below them when the names are too long), its continuation
   * lines indented two more.
   */
  private static String table(List<String[]> rows, int width, int column) {
    String indent = " ".repeat(column + 2);
    StringBuilder out = new StringBuilder();
    for (String[] r : rows) {
      boolean beside = r[0].length() + 3 <= column;
      List<String> lines = wrap(r[1], Math.max(20, width - column - 2));
      out.append(r[0]);
      if (!beside) {
        out.append('\n');
      }
      for (int i = 0; i < lines.size(); i++) {
        out.append(i == 0 && beside ? " ".repeat(column - r[0].length()) : indent).append(lines.get(i)).append('\n');
      }
      if (lines.isEmpty()) {
        out.append('\n');
      }
    }
    return out.toString();
  }

  /** Greedy wrap at spaces; a word longer than the width gets a line of its own, whole. */
  static List<String> wrap(String text, int width) {
    List<String> lines = new ArrayList<>();
    StringBuilder line = new StringBuilder();
    for (String word : text.strip().split("\\s+")) {
      if (word.isEmpty()) {
        continue;
      }
      if (line.length() > 0 && line.length() + 1 + word.length() > width) {
        lines.add(line.toString());
        line.setLength(0);
      }
      if (line.length() > 0) {
        line.append(' ');
      }
      line.append(word);
    }
    if (line.length() > 0) {
      lines.add(line.toString());
    }
    return lines;
  }
}
