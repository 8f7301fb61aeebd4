package dev.edgelm.daemon.internal.select;

import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostOverrides;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.daemon.internal.Sizes;
import dev.edgelm.daemon.internal.probe.SystemHostProbe;
import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Factor;
import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Kernel;
import dev.edgelm.daemon.internal.select.OnnxRuntimeKernels.Version;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.v1.SpeedMeasurement;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * The {@link VariantSelector}: assesses every variant of a release against the host (can it run,
 * does it fit, is it good enough), predicts the speed of those that pass ({@link DecodeSpeedModel},
 * refined by published measurements and optional on-device benchmarks), ranks them, and words a
 * reason for each verdict. See {@link VariantSelector} for the model.
 *
 * <p>Threading: thread-safe (no mutable state but the benchmark cache, which locks).
 */
public final class DefaultVariantSelector implements VariantSelector {
  private static final Logger LOG = Logger.getLogger(DefaultVariantSelector.class.getName());

  private final Options options;
  private final BenchmarkCache benchmarks;

  public DefaultVariantSelector(Options options) {
    this.options = options;
    this.benchmarks = new BenchmarkCache(options.cacheDir());
  }

  /** One variant as assessed on the host; filled in step by step. */
  private static final class Assessment {
    final VariantEntry entry;
    final List<String> failed = new ArrayList<>();
    String ep = "cpu";
    boolean epMissing;
    Kernel kernel;
    int context;
    long memoryRequired;
    double tokensPerSecond;
    String speedWhy = "";
    String speedBasis = "bandwidth model";
    OptionalDouble ratio;

    Assessment(VariantEntry entry) {
      this.entry = entry;
      this.ratio = entry.perplexityRatio();
    }

    boolean feasible() {
      return failed.isEmpty();
    }

    /** Perplexity ratio for ranking: measured, 1 for the unquantized base, else unknown (last). */
    double qualityKey() {
      if (ratio.isPresent()) {
        return ratio.getAsDouble();
      }
      return kernel == Kernel.FP32 && entry.method().equalsIgnoreCase("fp32") ? 1.0 : Double.POSITIVE_INFINITY;
    }
  }

  @Override
  public Selection select(Release release, HostCapabilities host, SelectionPolicy policy) {
    String pinned = policy.pinnedVariant();
    if (pinned != null && release.variant(pinned).isEmpty()) {
      throw new NotFoundException("release " + release.reference() + " has no variant '" + pinned + "' (it has "
          + String.join(", ", release.variantIds()) + "); pin one of those, or unpin it to select automatically");
    }
    long usable = host.memory().usableBytes() > 0 ? host.memory().usableBytes() : Long.MAX_VALUE;
    long budget = Math.min(policy.memoryBudgetBytes(), usable);
    String budgetWhy = budgetWhy(host, policy, budget);
    List<Assessment> all = new ArrayList<>();
    for (VariantEntry e : release.variants()) {
      all.add(assess(e, host, policy, budget, budgetWhy));
    }
    for (Assessment a : all) {
      if (a.feasible() || a.entry.id().equals(pinned)) {
        refineWithDescriptor(release, a, host, policy);
      }
    }
    List<Assessment> ranked = rank(all.stream().filter(Assessment::feasible).toList(), policy);
    if (pinned == null && policy.benchmarkTop() > 0 && ranked.size() > 1) {
      benchmark(release, ranked, Math.min(policy.benchmarkTop(), ranked.size()), host, policy);
      ranked = rank(ranked, policy);
    }
    return verdicts(release, host, policy, budget, all, ranked, pinned);
  }

  // ---- assessment ------------------------------------------------------------------------------

  private Assessment assess(VariantEntry e, HostCapabilities host, SelectionPolicy policy, long budget, String budgetWhy) {
    Assessment a = new Assessment(e);
    a.kernel = DecodeSpeedModel.kernelOf(e.method(), e.onnxOps());
    checkRuntime(a, host);
    checkExecutionProvider(a, host);
    checkOperators(a, host);
    checkCpuFeatures(a, host);
    checkMemory(a, host, policy, budget, budgetWhy);
    checkQuality(a, policy);
    predict(a, host);
    return a;
  }

  private static void checkRuntime(Assessment a, HostCapabilities host) {
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

  private static void checkExecutionProvider(Assessment a, HostCapabilities host) {
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

  private static void checkOperators(Assessment a, HostCapabilities host) {
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

  private static void checkCpuFeatures(Assessment a, HostCapabilities host) {
    List<String> missing = a.entry.cpuFeatures().stream().map(f -> f.strip().toLowerCase(Locale.ROOT))
        .filter(f -> !f.isEmpty() && !host.cpuFeatures().contains(f)).toList();
    if (!missing.isEmpty()) {
      a.failed.add("needs CPU feature" + (missing.size() > 1 ? "s " : " ") + String.join(", ", missing) + ", which this " + host.arch()
          + " CPU lacks");
    }
  }

  private static void checkMemory(Assessment a, HostCapabilities host, SelectionPolicy policy, long budget, String budgetWhy) {
    VariantEntry e = a.entry;
    int variantContext = intAnnotation(e, HubFormat.CONTEXT_LENGTH);
    a.context = policy.contextTokens() > 0
        ? (variantContext > 0 ? Math.min(policy.contextTokens(), variantContext) : policy.contextTokens())
        : (variantContext > 0 ? variantContext : SelectionPolicy.ASSUMED_CONTEXT);
    long kv = e.kvCacheBytesPerToken() * a.context * (long) policy.concurrency();
    long overhead = policy.memoryOverheadBytes() + (long) (e.weightBytes() * SelectionPolicy.RUNTIME_OVERHEAD_RATIO);
    a.memoryRequired = e.weightBytes() + kv + overhead;
    String need = Sizes.bytes(a.memoryRequired) + " (weights " + Sizes.bytes(e.weightBytes()) + " + KV cache " + Sizes.bytes(kv) + " for "
        + policy.concurrency() + " x " + a.context + " tokens + overhead " + Sizes.bytes(overhead) + ")";
    if (onGpu(a.ep)) {
      if (a.epMissing) {
        return; // GPU memory is moot without the provider
      }
      long free = host.gpuMemoryFreeBytes();
      if (a.memoryRequired > free) {
        a.failed.add("needs " + need + " of GPU memory; " + (free == 0 ? "no GPU memory was found" : "the GPU has " + Sizes.bytes(free) + " free"));
      }
    } else if (a.memoryRequired > budget) {
      a.failed.add("needs " + need + ", more than the memory budget of " + Sizes.bytes(budget) + " (" + budgetWhy + ")");
    }
  }

  private static void checkQuality(Assessment a, SelectionPolicy policy) {
    if (policy.maxPerplexityRatio() > 0 && a.ratio.isPresent() && a.ratio.getAsDouble() > policy.maxPerplexityRatio()) {
      a.failed.add(String.format(Locale.ROOT, "perplexity ratio %.3f is above the quality floor (select.max_perplexity_ratio %s)",
          a.ratio.getAsDouble(), trim(policy.maxPerplexityRatio())));
    }
  }

  private static void predict(Assessment a, HostCapabilities host) {
    VariantEntry e = a.entry;
    double bytes = DecodeSpeedModel.bytesPerToken(e.weightBytes(), e.kvCacheBytesPerToken(), a.context);
    if (bytes <= 0) {
      a.tokensPerSecond = 0;
      a.speedWhy = "no weight size published";
      return;
    }
    if (onGpu(a.ep)) {
      double bw = gpuBandwidth(host);
      a.tokensPerSecond = DecodeSpeedModel.tokensPerSecond(bytes, bw, DecodeSpeedModel.GPU_EFFICIENCY);
      List<String> cpuOnly = e.onnxOps().stream().filter(op -> op.startsWith("com.microsoft:"))
          .map(op -> op.substring("com.microsoft:".length())).filter(op -> !OnnxRuntimeKernels.CONTRIB_CUDA.contains(op)).toList();
      String why = String.format(Locale.ROOT, "%s at %.0f GB/s GPU memory x%.2f", a.ep, bw / 1e9, DecodeSpeedModel.GPU_EFFICIENCY);
      if (!cpuOnly.isEmpty()) {
        a.tokensPerSecond *= 0.5;
        why += "; " + String.join(", ", cpuOnly) + " fall back to the CPU x0.50";
      }
      a.speedWhy = why;
      return;
    }
    Factor f = DecodeSpeedModel.cpu(a.kernel, accuracyLevel(e), host.arch(), host.cpuFeatures());
    a.tokensPerSecond = DecodeSpeedModel.tokensPerSecond(bytes, host.memoryBandwidth().bytesPerSecond() * DecodeSpeedModel.STREAMING_SHARE,
        f.value());
    a.speedWhy = f.toString();
  }

  /** Replaces the model's prediction with a published measurement from a comparable host, rescaled by bandwidth. */
  private void refineWithDescriptor(Release release, Assessment a, HostCapabilities host, SelectionPolicy policy) {
    if (onGpu(a.ep) || host.memoryBandwidth().bytesPerSecond() <= 0) {
      return;
    }
    Optional<VariantDescriptor> d;
    try {
      d = options.descriptors().descriptor(release, a.entry);
    } catch (RuntimeException ex) {
      LOG.fine(() -> "no descriptor for " + a.entry.id() + ": " + ex.getMessage());
      return;
    }
    if (d.isEmpty()) {
      return;
    }
    if (a.ratio.isEmpty() && d.get().hasQuality() && d.get().getQuality().getPerplexityRatio() > 0) {
      a.ratio = OptionalDouble.of(d.get().getQuality().getPerplexityRatio());
    }
    SpeedMeasurement best = null;
    for (SpeedMeasurement m : d.get().getSpeedList()) {
      if (m.getMemoryBandwidthBytesPerSecond() <= 0 || m.getDecodeTokensPerSecond() <= 0) {
        continue; // cannot be rescaled
      }
      if (policy.intraOpThreads() > 0 && m.getThreads() > 0 && m.getThreads() != policy.intraOpThreads()) {
        continue;
      }
      if (!comparable(a.kernel, host, new TreeSet<>(m.getCpuFeaturesList()))) {
        continue;
      }
      if (best == null || m.getMemoryBandwidthBytesPerSecond() > best.getMemoryBandwidthBytesPerSecond()) {
        best = m;
      }
    }
    if (best != null) {
      double scale = host.memoryBandwidth().bytesPerSecond() / best.getMemoryBandwidthBytesPerSecond();
      a.tokensPerSecond = best.getDecodeTokensPerSecond() * scale;
      a.speedBasis = "descriptor measurement rescaled by bandwidth";
      a.speedWhy = String.format(Locale.ROOT, "measured %.1f tok/s on %s, x%.2f for this host's bandwidth", best.getDecodeTokensPerSecond(),
          best.getHost().isBlank() ? "another host" : best.getHost(), scale);
    }
  }

  /** Whether a measurement host's CPU runs this kernel the way ours does (same architecture, same int8 dot-product class). */
  private static boolean comparable(Kernel kernel, HostCapabilities host, Set<String> theirs) {
    if (theirs.isEmpty()) {
      return false; // unknown CPU: the ISA factors could differ by 2x
    }
    boolean theirsArm = theirs.contains("asimd");
    boolean oursArm = host.arch().equals("aarch64");
    if (theirsArm != oursArm) {
      return false;
    }
    if (kernel == Kernel.INT8 || kernel == Kernel.INT4) {
      return (DecodeSpeedModel.int8Dot(theirs) == null) == (DecodeSpeedModel.int8Dot(host.cpuFeatures()) == null);
    }
    return true;
  }

  /**
   * Decodes with the first {@code n} of {@code ranked} here, and rescales the model's predictions of the
   * rest by how the model fared on them: a host shared with other work decodes several times slower
   * than the bandwidth model predicts, and a measured candidate must not lose to an unmeasured one on
   * that account alone.
   */
  private void benchmark(Release release, List<Assessment> ranked, int n, HostCapabilities host, SelectionPolicy policy) {
    List<Double> shares = new ArrayList<>();
    for (Assessment a : ranked.subList(0, n)) {
      String key = BenchmarkCache.key(a.entry.manifestDigest().toString(), a.ep, policy.intraOpThreads(), policy.benchmarkTokens());
      OptionalDouble tps = benchmarks.get(host.fingerprint(), key);
      boolean cached = tps.isPresent();
      if (!cached) {
        try {
          tps = options.benchmark().decodeTokensPerSecond(release, a.entry, a.ep, policy.benchmarkTokens());
        } catch (RuntimeException ex) {
          LOG.warning("on-device benchmark of " + a.entry.id() + " failed: " + ex.getMessage());
          tps = OptionalDouble.empty();
        }
        if (tps.isPresent()) {
          benchmarks.put(host.fingerprint(), key, tps.getAsDouble(), options.clock().instant());
        }
      }
      if (tps.isPresent()) {
        double predicted = a.tokensPerSecond;
        if (predicted > 0 && a.speedBasis.equals("bandwidth model")) {
          shares.add(tps.getAsDouble() / predicted);
        }
        a.tokensPerSecond = tps.getAsDouble();
        a.speedBasis = "measured on this host";
        a.speedWhy = String.format(Locale.ROOT, "decoded %d tokens here%s: %.1f tok/s (predicted %.1f)", policy.benchmarkTokens(),
            cached ? " earlier" : "", tps.getAsDouble(), predicted);
      }
    }
    if (shares.isEmpty()) {
      return;
    }
    double share = median(shares);
    for (Assessment a : ranked.subList(n, ranked.size())) {
      if (a.speedBasis.equals("bandwidth model")) {
        a.tokensPerSecond *= share;
        a.speedBasis = "bandwidth model scaled by this host's benchmarks";
        a.speedWhy = String.format(Locale.ROOT, "%s; x%.2f, the share of their predicted speed the benchmarked variants reached here", a.speedWhy,
            share);
      }
    }
  }

  private static double median(List<Double> values) {
    List<Double> v = values.stream().sorted().toList();
    int m = v.size() / 2;
    return v.size() % 2 == 1 ? v.get(m) : (v.get(m - 1) + v.get(m)) / 2;
  }

  // ---- ranking and verdicts --------------------------------------------------------------------

  /** Fastest first, but among those within the speed tolerance of the fastest the best quality first. */
  private static List<Assessment> rank(List<Assessment> feasible, SelectionPolicy policy) {
    double max = feasible.stream().mapToDouble(a -> a.tokensPerSecond).max().orElse(0);
    double floor = max * (1 - policy.speedTolerance());
    Comparator<Assessment> order = Comparator
        .comparing((Assessment a) -> a.tokensPerSecond >= floor ? 0 : 1)
        .thenComparing((x, y) -> {
          boolean top = x.tokensPerSecond >= floor; // both are in the same group here
          int bySpeed = Double.compare(y.tokensPerSecond, x.tokensPerSecond);
          int byQuality = Double.compare(x.qualityKey(), y.qualityKey());
          return top ? (byQuality != 0 ? byQuality : bySpeed) : (bySpeed != 0 ? bySpeed : byQuality);
        })
        .thenComparingLong(a -> a.entry.downloadBytes())
        .thenComparing(a -> a.entry.id());
    return feasible.stream().sorted(order).toList();
  }

  private Selection verdicts(Release release, HostCapabilities host, SelectionPolicy policy, long budget, List<Assessment> all,
      List<Assessment> ranked, String pinned) {
    Map<Assessment, Integer> rankOf = new LinkedHashMap<>();
    for (int i = 0; i < ranked.size(); i++) {
      rankOf.put(ranked.get(i), i + 1);
    }
    double max = ranked.stream().mapToDouble(a -> a.tokensPerSecond).max().orElse(0);
    Assessment fastest = ranked.stream().filter(a -> a.tokensPerSecond == max).findFirst().orElse(null);
    Assessment chosen = pinned != null ? all.stream().filter(a -> a.entry.id().equals(pinned)).findFirst().orElseThrow()
        : ranked.isEmpty() ? null : ranked.get(0);

    List<Selection.Verdict> out = new ArrayList<>();
    String reason;
    if (chosen != null) {
      String why = pinned != null ? pinnedReason(chosen) : chosenReason(chosen, fastest, policy, budget);
      out.add(verdict(chosen, Selection.Outcome.CHOSEN, 1, why));
      reason = why;
    } else {
      StringBuilder s = new StringBuilder("no variant of " + release.reference() + " suits this host: ");
      for (int i = 0; i < all.size(); i++) {
        s.append(i > 0 ? "; " : "").append(all.get(i).entry.id()).append(": ").append(String.join(", ", all.get(i).failed));
      }
      reason = s.toString();
    }
    int nextRank = 2;
    for (Assessment a : ranked) {
      if (a == chosen) {
        continue;
      }
      String why = pinned != null ? "not pinned; would rank #" + rankOf.get(a) + ": " + speedText(a)
          : "ranked #" + nextRank + ": " + speedText(a) + comparison(a, chosen, policy);
      out.add(verdict(a, Selection.Outcome.CANDIDATE, nextRank++, why));
    }
    for (Assessment a : all) {
      if (!a.feasible() && a != chosen) {
        out.add(verdict(a, Selection.Outcome.REJECTED, 0, String.join("; ", a.failed)));
      }
    }
    return new Selection(release.reference().toString(), release.indexDigest().toString(), out, pinned != null, reason, host, policy, budget,
        options.clock().instant());
  }

  private static Selection.Verdict verdict(Assessment a, Selection.Outcome outcome, int rank, String reason) {
    boolean ranked = a.feasible() || outcome == Selection.Outcome.CHOSEN;
    return new Selection.Verdict(a.entry.id(), a.entry.manifestDigest().toString(), a.entry.method(), outcome, rank, reason, a.failed,
        ranked ? a.tokensPerSecond : 0, ranked ? a.speedBasis : "", a.memoryRequired, a.ep, a.ratio, a.entry.downloadBytes());
  }

  private static String pinnedReason(Assessment a) {
    String s = "pinned by the operator; " + speedText(a);
    return a.failed.isEmpty() ? s : s + "; warning: would otherwise be rejected: " + String.join("; ", a.failed);
  }

  private static String chosenReason(Assessment a, Assessment fastest, SelectionPolicy policy, long budget) {
    String fits = "; needs " + Sizes.bytes(a.memoryRequired) + (onGpu(a.ep) ? " of GPU memory" : " of a " + Sizes.bytes(budget) + " budget");
    if (fastest == null || fastest == a || fastest.tokensPerSecond == a.tokensPerSecond) {
      return "fastest: " + speedText(a) + fits;
    }
    return String.format(Locale.ROOT, "within %d%% of the fastest (%s, %.1f tok/s) with better quality (%s vs %s): %s%s",
        Math.round(policy.speedTolerance() * 100), fastest.entry.id(), fastest.tokensPerSecond, quality(a), quality(fastest), speedText(a), fits);
  }

  private static String comparison(Assessment a, Assessment chosen, SelectionPolicy policy) {
    if (chosen == null || chosen.tokensPerSecond <= 0) {
      return "";
    }
    if (a.tokensPerSecond > chosen.tokensPerSecond) {
      return "; faster than " + chosen.entry.id() + " by less than " + Math.round(policy.speedTolerance() * 100) + "%, worse quality ("
          + quality(a) + ")";
    }
    return String.format(Locale.ROOT, "; %.0f%% slower than %s", 100 * (1 - a.tokensPerSecond / chosen.tokensPerSecond), chosen.entry.id());
  }

  private static String speedText(Assessment a) {
    return String.format(Locale.ROOT, "%.1f tok/s predicted on %s (%s)", a.tokensPerSecond, a.ep, a.speedWhy)
        .replace("predicted on " + a.ep + " (decoded", "measured on " + a.ep + " (decoded");
  }

  private static String quality(Assessment a) {
    double q = a.qualityKey();
    return Double.isInfinite(q) ? "quality not measured" : String.format(Locale.ROOT, "perplexity ratio %.3f", q);
  }

  private static String budgetWhy(HostCapabilities host, SelectionPolicy policy, long budget) {
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
      return "usable memory: cgroup limit " + Sizes.bytes(m.cgroupLimitBytes()) + " less " + Sizes.bytes(m.cgroupUsageBytes()) + " in use";
    }
    return "usable memory: MemAvailable";
  }

  private static boolean onGpu(String ep) {
    return !ep.equals("cpu");
  }

  /** The GPU's memory bandwidth: configured, else a mid-range discrete GPU's (vendor tools do not report it). */
  private static double gpuBandwidth(HostCapabilities host) {
    double bw = host.gpus().stream().mapToDouble(HostCapabilities.Gpu::memoryBandwidthBytesPerSecond).max().orElse(0);
    return bw > 0 ? bw : HostOverrides.DEFAULT_GPU_MEMORY_BANDWIDTH;
  }

  private static int accuracyLevel(VariantEntry e) {
    return e.int4AccuracyLevel();
  }

  private static int intAnnotation(VariantEntry e, String key) {
    String v = e.annotations().getOrDefault(key, "");
    try {
      return v.isBlank() ? 0 : Integer.parseInt(v.strip());
    } catch (NumberFormatException ex) {
      return 0;
    }
  }

  private static String trim(double d) {
    String s = String.format(Locale.ROOT, "%.3f", d);
    return s.replaceAll("0+$", "").replaceAll("\\.$", "");
  }
}
