package dev.edgelm.cli;

import dev.edgelm.proto.Units;
import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostProbe;
import java.io.PrintWriter;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "capabilities", mixinStandardHelpOptions = true, description = {
    "Show what this host offers a model, as edgelmd probes it before choosing a variant.",
    "CPU architecture and features (avx2, avx512_vnni, amx, dotprod, i8mm, sve...), cores, memory (MemAvailable and cgroup "
        + "limits), the ONNX Runtime build and its execution providers, GPUs, and memory bandwidth (measured once "
        + "per hardware, ~0.3 s, then cached). Flags override probed facts to simulate other hosts."})
final class CapabilitiesCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--json", description = "Print JSON (edgelm.v1.HostCapabilitiesInfo) instead of text.")
  boolean json;

  @Option(names = "--labels", description = "Print Kubernetes node labels for the capabilities (edgelm.dev/...), one per line.")
  boolean labels;

  @Mixin HostFlagsMixin host;

  @Override
  public Integer call() throws InvalidProtocolBufferException {
    DaemonConfig config = host.load(Map.of());
    HostCapabilities h = HostProbe.create(config.host().probeOptions()).probe();
    PrintWriter out = spec.commandLine().getOut();
    if (json) {
      out.println(JsonFormat.printer().alwaysPrintFieldsWithNoPresence().print(h.toProto()));
    } else if (labels) {
      h.nodeLabels().forEach((k, v) -> out.println(k + "=" + v));
    } else {
      out.print(text(h));
    }
    out.flush();
    return ExitCodes.OK;
  }

  static String text(HostCapabilities h) {
    StringBuilder s = new StringBuilder();
    row(s, "os / arch", h.os() + " / " + h.arch());
    row(s, "cpu", h.cpuModel() + ", " + h.cores() + (h.cores() == 1 ? " core" : " cores")
        + (h.cpuQuota() > 0 ? String.format(Locale.ROOT, " (cgroup quota %.2f CPUs)", h.cpuQuota()) : ""));
    row(s, "cpu features", h.cpuFeatures().isEmpty() ? "(none known)" : String.join(" ", new TreeSet<>(h.cpuFeatures())));
    HostCapabilities.Memory m = h.memory();
    row(s, "memory", "total " + Units.size(m.totalBytes()) + ", available " + Units.size(m.availableBytes())
        + (m.cgroupLimitBytes() > 0 ? ", cgroup limit " + Units.size(m.cgroupLimitBytes()) + " (" + Units.size(m.cgroupUsageBytes()) + " used)"
            : ", no cgroup limit")
        + "; usable " + Units.size(m.usableBytes()));
    row(s, "onnxruntime", h.onnxRuntime().version() + ", providers " + String.join(", ", h.onnxRuntime().executionProviders()));
    if (h.gpus().isEmpty()) {
      row(s, "gpus", "none found");
    }
    for (HostCapabilities.Gpu g : h.gpus()) {
      row(s, "gpu", g.name() + " (" + g.vendor() + "), " + Units.size(g.memoryFreeBytes()) + " free of " + Units.size(g.memoryTotalBytes()));
    }
    row(s, "bandwidth", String.format(Locale.ROOT, "%.1f GB/s single-thread copy (%s)", h.memoryBandwidth().bytesPerSecond() / 1e9,
        h.memoryBandwidth().source()));
    row(s, "fingerprint", h.fingerprint());
    h.overridden().forEach((fact, from) -> row(s, "overridden", fact + " (" + from + ")"));
    return s.toString();
  }

  private static void row(StringBuilder s, String k, String v) {
    s.append(String.format(Locale.ROOT, "%-13s %s%n", k, v));
  }
}
