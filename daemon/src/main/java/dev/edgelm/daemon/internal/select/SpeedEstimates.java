package dev.edgelm.daemon.internal.select;

import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostOverrides;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Factor;
import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Kernel;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.v1.SpeedMeasurement;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;
import java.util.logging.Logger;

/**
 * How fast each feasible variant would decode here: the bandwidth model ({@link DecodeSpeedModel}), replaced by a
 * published measurement from a comparable host rescaled by bandwidth, and by on-device benchmarks of the top
 * candidates (which also rescale the rest).
 *
 * <p>Threading: thread-safe (no mutable state but the benchmark cache, which locks).
 */
final class SpeedEstimates {
  private static final Logger LOG = Logger.getLogger(SpeedEstimates.class.getName());

  private final VariantSelector.Options options;
  private final BenchmarkCache benchmarks;

  SpeedEstimates(VariantSelector.Options options) {
    this.options = options;
    this.benchmarks = new BenchmarkCache(options.cacheDir());
  }

  static void predict(Assessment a, HostCapabilities host) {
    VariantEntry e = a.entry;
    double bytes = DecodeSpeedModel.bytesPerToken(e.weightBytes(), e.kvCacheBytesPerToken(), a.context);
    if (bytes <= 0) {
      a.tokensPerSecond = 0;
      a.speedWhy = "no weight size published";
      return;
    }
    if (Assessment.onGpu(a.ep)) {
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
  void refineWithDescriptor(Release release, Assessment a, HostCapabilities host, SelectionPolicy policy) {
    if (Assessment.onGpu(a.ep) || host.memoryBandwidth().bytesPerSecond() <= 0) {
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
  static boolean comparable(Kernel kernel, HostCapabilities host, Set<String> theirs) {
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
  void benchmark(Release release, List<Assessment> ranked, int n, HostCapabilities host, SelectionPolicy policy) {
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

  static double median(List<Double> values) {
    List<Double> v = values.stream().sorted().toList();
    int m = v.size() / 2;
    return v.size() % 2 == 1 ? v.get(m) : (v.get(m - 1) + v.get(m)) / 2;
  }

  /** The GPU's memory bandwidth: configured, else a mid-range discrete GPU's (vendor tools do not report it). */
  static double gpuBandwidth(HostCapabilities host) {
    double bw = host.gpus().stream().mapToDouble(HostCapabilities.Gpu::memoryBandwidthBytesPerSecond).max().orElse(0);
    return bw > 0 ? bw : HostOverrides.DEFAULT_GPU_MEMORY_BANDWIDTH;
  }

  static int accuracyLevel(VariantEntry e) {
    return e.int4AccuracyLevel();
  }
}
