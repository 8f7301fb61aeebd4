package dev.edgelm.cli;

import dev.edgelm.compressor.prune.LayerReport;
import dev.edgelm.compressor.report.DecodeSpeed;
import dev.edgelm.compressor.report.VariantReport;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostProbe;
import dev.edgelm.engine.ModelPackage;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "report", description = {
    "Measure variants against their base on one text, and write the report.",
    "The report is report.md, report.json and two PNG charts that report.md links: quality.png (perplexity ratio and KL "
        + "against package size) and speed.png (decode speed against package size), each with its Pareto frontier marked. "
        + "Per package: parameters, bytes on disk, perplexity and its ratio to the base, top-1 agreement with the base, "
        + "KL(base||variant), and (in a child process per package) decode tokens/s with one thread and peak RSS. "
        + "Quality and speed are also written into each package's variant.json (the base's included)."})
final class ReportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--base", required = true, paramLabel = "DIR", description = "The base (fp32) package.")
  Path base;

  @Parameters(arity = "1..*", paramLabel = "VARIANT_DIR", description = "Variant packages of the same model.")
  List<Path> variants;

  @Option(names = "--text", required = true, paramLabel = "FILE", description = "UTF-8 evaluation text.")
  Path text;

  @Option(names = "--doc-separator", paramLabel = "STR", description = "Score each document between separators on its own (e.g. '<|endoftext|>').")
  String separator;

  @Option(names = "--window", defaultValue = "0", description = "Sliding-window length in tokens (default: the model's context length).")
  int window;

  @Option(names = "--stride", defaultValue = "0", description = "Tokens between sliding-window starts (default: half the window).")
  int stride;

  @Option(names = "--parallel", defaultValue = "2", description = "Windows scored at once (default: ${DEFAULT-VALUE}).")
  int parallel;

  @Option(names = "--decode-tokens", defaultValue = "128", description = "Greedy decode steps per speed round (default: ${DEFAULT-VALUE}).")
  int decodeTokens;

  @Option(names = "--decode-rounds", defaultValue = "3", description = "Timed speed rounds after a warm-up; the median is reported (default: ${DEFAULT-VALUE}).")
  int decodeRounds;

  @Option(names = "--no-speed", description = "Skip the decode speed and memory measurement.")
  boolean noSpeed;

  @Option(names = "--no-update", description = "Do not write the measurements into the packages' variant.json.")
  boolean noUpdate;

  @Option(names = "--layer-report", description = "Also list, per pruned variant, each layer's kept heads, KV heads and FFN"
      + " channels with its reconstruction errors (appended to report.md and printed).")
  boolean layerReport;

  @Option(names = "--out", defaultValue = "report", paramLabel = "DIR", description = "Directory for the report files (default: ${DEFAULT-VALUE}).")
  Path out;

  @Override
  public Integer call() {
    if (!Files.isRegularFile(text)) {
      throw InputFileException.missing("--text", text);
    }
    if (parallel < 1 || decodeTokens < 1 || decodeRounds < 1) {
      throw new ParameterException(spec.commandLine(), "--parallel, --decode-tokens and --decode-rounds must be at least 1");
    }
    PrintWriter err = spec.commandLine().getErr();
    DecodeSpeed.Options speed = noSpeed ? null
        : new DecodeSpeed.Options(decodeTokens, 1, decodeRounds, DecodeSpeed.Options.DEFAULTS.timeoutSeconds()).withMachine(thisMachine());
    VariantReport.Report r = VariantReport.run(base, variants,
        new VariantReport.Options(text, separator, window, stride, parallel, speed, !noUpdate, out, Clock.systemUTC()),
        line -> {
          err.println(line);
          err.flush();
        }, ProgressLine.onStderr(err, "scored"));
    if (layerReport) {
      appendLayerReport();
    }
    err.printf("wrote %s, %s and the charts in %s (%d variants against %s)%n", out.resolve("report.md"), out.resolve("report.json"),
        out, r.variants().size(), r.base().id());
    err.flush();
    return ExitCodes.OK;
  }

  private void appendLayerReport() {
    StringBuilder s = new StringBuilder();
    for (Path v : variants) {
      s.append(LayerReport.markdown(v.getFileName().toString(), ModelPackage.open(v).descriptor()));
    }
    String section = s.length() == 0 ? "No variant was pruned, so there is no per-layer report.\n" : s.toString();
    try {
      Files.writeString(out.resolve("report.md"), "\n## Per-layer pruning\n\n" + section, StandardOpenOption.APPEND);
    } catch (IOException e) {
      throw new UncheckedIOException("cannot append the layer report to " + out.resolve("report.md") + ": " + e.getMessage(), e);
    }
    spec.commandLine().getOut().print(section);
    spec.commandLine().getOut().flush();
  }

  /**
   * This machine as edgelmd's probe sees it (no simulation overrides), so the daemon's selector can
   * rescale the speeds recorded here to its own host. An assumed bandwidth is recorded as unknown.
   */
  static DecodeSpeed.Machine thisMachine() {
    DaemonConfig defaults = DaemonConfig.load(new DaemonConfig.ConfigSources(null, Map.of(), Map.of()));
    HostCapabilities h = HostProbe.create(defaults.host().probeOptions()).probe();
    HostCapabilities.Bandwidth b = h.memoryBandwidth();
    return new DecodeSpeed.Machine(b.source().equals("assumed") ? 0 : b.bytesPerSecond(), new ArrayList<>(new TreeSet<>(h.cpuFeatures())));
  }
}
