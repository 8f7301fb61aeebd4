package dev.edgelm.compressor.ir;

/** A normalisation layer: LayerNorm (weight and bias) or RMSNorm (weight only, {@code bias == null}). */
public record Norm(Tensor weight, Tensor bias) {
  public Norm {
    if (weight.rank() != 1) {
      throw new IllegalArgumentException("norm weight must be a vector, got " + weight);
    }
    if (bias != null && bias.size() != weight.size()) {
      throw new IllegalArgumentException("norm bias " + bias + " does not match weight " + weight);
    }
  }

  public static Norm rms(Tensor weight) {
    return new Norm(weight, null);
  }

  public boolean isRms() {
    return bias == null;
  }

  public long parameterCount() {
    return weight.size() + (bias == null ? 0 : bias.size());
  }
}
