package dev.edgelm.compressor.calib;

import java.util.Map;
import java.util.Set;

/**
 * Statistics of the base model's activations on calibration text, per linear layer (by the
 * canonical names of {@link dev.edgelm.compressor.ir.ModelIr#linears()}, plus {@code head} whether
 * or not the head is tied to the embedding).
 */
public final class Calibration {
  private final CalibrationText text;
  private final Map<String, ActivationStats> byLinear;
  private final Set<Statistic> statistics;

  Calibration(CalibrationText text, Map<String, ActivationStats> byLinear, Set<Statistic> statistics) {
    this.text = text;
    this.byLinear = Map.copyOf(byLinear);
    this.statistics = Set.copyOf(statistics);
  }

  /** The statistics of the input of linear layer {@code name}. */
  public ActivationStats of(String name) {
    ActivationStats s = byLinear.get(name);
    if (s == null) {
      throw new IllegalArgumentException("no calibration statistics for linear layer '" + name + "'");
    }
    return s;
  }

  public boolean has(Statistic statistic) {
    return statistics.contains(statistic);
  }

  public CalibrationText text() {
    return text;
  }
}
