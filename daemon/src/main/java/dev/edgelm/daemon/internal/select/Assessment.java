package dev.edgelm.daemon.internal.select;

import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Kernel;
import dev.edgelm.hub.VariantEntry;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalDouble;

/** One variant as assessed on the host: filled in step by step by {@link HostChecks}, {@link SpeedEstimates} and {@link Verdicts}. */
final class Assessment {
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

  /** Whether {@code ep} names a GPU execution provider (anything but the CPU). */
  static boolean onGpu(String ep) {
    return !ep.equals("cpu");
  }
}
