package dev.edgelm.daemon.internal.select;

import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.internal.Footprint;
import dev.edgelm.daemon.internal.probe.SystemHostProbe;
import dev.edgelm.daemon.internal.select.OnnxRuntimeKernels.Version;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.Units;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * What rules a variant out on this host, each check adding its reason to {@link Assessment#failed}: the ONNX Runtime
 * version and opset, the execution provider, contrib operators, CPU features, memory ({@link Footprint}: weights, KV
 * cache and overhead against the budget or the GPU's free memory), and the quality floor.
 *
 * <p>Threading: stateless.
 */
final class HostChecks {
  private HostChecks() {}

  /** Runs every check on {@code a}, in order (the execution provider before memory: it decides which memory counts). */
  static void check(Assessment a, HostCapabilities host, SelectionPolicy policy, long budget, String budgetWhy) {
    checkRuntime(a, host);
    checkExecutionProvider(a, host);
    checkOperators(a, host);
    checkCpuFeatures(a, host);
    checkMemory(a, host, policy, budget, budgetWhy);
    checkQuality(a, policy);
  }

  static void checkRuntime(Assessment a, HostCapabilities host) {
    String hostVersion = host.onnxRuntime().version();
    if (!Version.valid(hostVersion)) {
      a.failed.add("ONNX Runtime is not usable in this process (" + hostVersion + ")");
      return;
    }
    Version ort = Version.parse(hostVersion);
    String min = a.entry.annotations().getOrDefault(HubFormat.MIN_ONNXRUNTIME_VERSION, "");
    if (Version.valid(min) && Version.parse(min).compareTo(ort) > 0) {
      a.failed.add("needs ONNX Runtime " + min + " or newer; this daemon has " + hostVersion);
    }
    String opset = a.entry.annotations().getOrDefault(HubFormat.OPSET, "");
    if (opset.matches("\\d+") && Integer.parseInt(opset) > OnnxRuntimeKernels.maxOpset(ort)) {
      a.failed.add("uses opset " + opset + "; ONNX Runtime " + hostVersion + " implements up to " + OnnxRuntimeKernels.maxOpset(ort));
    }
  }

  static void checkExecutionProvider(Assessment a, HostCapabilities host) {
    List<String> required = a.entry.executionProviders().stream().map(SystemHostProbe::providerName).distinct().toList();
    if (required.isEmpty() || required.equals(List.of("cpu"))) {
      a.ep = "cpu";
      return;
    }
    Set<String> present = host.onnxRuntime().executionProviders();
    for (String ep : required) {
      if (present.contains(ep) && SessionSettings.EXECUTION_PROVIDERS.contains(ep)) {
        a.ep = ep;
        return;
      }
    }
    a.ep = required.get(0);
    a.epMissing = true;
    List<String> presentButUnusable = required.stream().filter(present::contains).toList();
    a.failed.add("needs execution provider " + String.join(" or ", required) + "; this ONNX Runtime build has "
        + (present.isEmpty() ? "none" : String.join(", ", present))
        + (presentButUnusable.isEmpty() ? "" : " (edgelm's engine cannot use " + String.join(", ", presentButUnusable) + " yet)"));
  }

  static void checkOperators(Assessment a, HostCapabilities host) {
    String hostVersion = host.onnxRuntime().version();
    if (!Version.valid(hostVersion)) {
      return;
    }
    Version ort = Version.parse(hostVersion);
    List<String> missing = new ArrayList<>();
    for (String op : a.entry.onnxOps()) {
      int colon = op.lastIndexOf(':');
      String domain = colon < 0 ? "ai.onnx" : op.substring(0, colon);
      String type = op.substring(colon + 1);
      if (domain.isEmpty() || domain.equals("ai.onnx")) {
        continue; // the opset check covers the default domain
      }
      if (!domain.equals("com.microsoft")) {
        missing.add(op + " (custom operator domain)");
        continue;
      }
      Optional<Version> since = OnnxRuntimeKernels.contribSince(type);
      if (since.isEmpty()) {
        missing.add(op + " (not a contrib operator edgelm knows ONNX Runtime to implement)");
      } else if (since.get().compareTo(ort) > 0) {
        missing.add(op + " (CPU kernel since ONNX Runtime " + since.get().major() + "." + since.get().minor() + ")");
      }
    }
    if (!missing.isEmpty()) {
      a.failed.add("ONNX Runtime " + hostVersion + " cannot run " + String.join(", ", missing));
    }
  }

  static void checkCpuFeatures(Assessment a, HostCapabilities host) {
    List<String> missing = a.entry.cpuFeatures().stream().map(f -> f.strip().toLowerCase(Locale.ROOT))
        .filter(f -> !f.isEmpty() && !host.cpuFeatures().contains(f)).toList();
    if (!missing.isEmpty()) {
      a.failed.add("needs CPU feature" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing) + ", which this " + host.arch()
          + " CPU lacks");
    }
  }

  static void checkMemory(Assessment a, HostCapabilities host, SelectionPolicy policy, long budget, String budgetWhy) {
    VariantEntry e = a.entry;
    int variantContext = intAnnotation(e, HubFormat.CONTEXT_LENGTH);
    a.context = Footprint.effectiveContext(policy.contextTokens(), variantContext);
    Footprint footprint = Footprint.of(e.weightBytes(), e.kvCacheBytesPerToken(), a.context, policy.concurrency())
        .withOverhead(policy.memoryOverheadBytes());
    a.memoryRequired = footprint.requiredBytes();
    String need = Units.size(a.memoryRequired) + " (weights " + Units.size(e.weightBytes()) + " + KV cache " + Units.size(footprint.kvBytes())
        + " for " + policy.concurrency() + " x " + a.context + " tokens + overhead " + Units.size(footprint.overheadBytes()) + ")";
    if (Assessment.onGpu(a.ep)) {
      if (a.epMissing) {
        return; // GPU memory is moot without the provider
      }
      long free = host.gpuMemoryFreeBytes();
      if (a.memoryRequired > free) {
        a.failed.add("needs " + need + " of GPU memory; " + (free == 0 ? "no GPU memory was found" : "the GPU has " + Units.size(free) + " free"));
      }
    } else if (a.memoryRequired > budget) {
      a.failed.add("needs " + need + ", more than the memory budget of " + Units.size(budget) + " (" + budgetWhy + ")");
    }
  }

  static void checkQuality(Assessment a, SelectionPolicy policy) {
    if (policy.maxPerplexityRatio() > 0 && a.ratio.isPresent() && a.ratio.getAsDouble() > policy.maxPerplexityRatio()) {
      a.failed.add(String.format(Locale.ROOT, "perplexity ratio %.3f is above the quality floor (select.max_perplexity_ratio %s)",
          a.ratio.getAsDouble(), trim(policy.maxPerplexityRatio())));
    }
  }

  static String budgetWhy(HostCapabilities host, SelectionPolicy policy, long budget) {
    long usable = host.memory().usableBytes();
    if (policy.memoryBudgetBytes() <= usable || usable <= 0) {
      return "cache.memory_budget";
    }
    String source = host.overridden().get("memory");
    if (source != null) {
      return "usable memory, " + source;
    }
    HostCapabilities.Memory m = host.memory();
    if (m.cgroupLimitBytes() > 0 && m.cgroupLimitBytes() - m.cgroupUsageBytes() <= m.availableBytes()) {
      return "usable memory: cgroup limit " + Units.size(m.cgroupLimitBytes()) + " less " + Units.size(m.cgroupUsageBytes()) + " in use";
    }
    return "usable memory: MemAvailable";
  }

  static int intAnnotation(VariantEntry e, String key) {
    String v = e.annotations().getOrDefault(key, "");
    try {
      return v.isBlank() ? 0 : Integer.parseInt(v.strip());
    } catch (NumberFormatException ex) {
      return 0;
    }
  }

  static String trim(double d) {
    String s = String.format(Locale.ROOT, "%.3f", d);
    return s.replaceAll("0+$", "").replaceAll("\\.$", "");
  }
}
