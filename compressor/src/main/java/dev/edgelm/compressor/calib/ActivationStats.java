package dev.edgelm.compressor.calib;

/**
 * What calibration gathered about one activation that feeds one or more linear layers (layers
 * reading the same value, e.g. a Llama block's gate and up projections, share one instance).
 *
 * <p>The arrays are exposed for speed and must not be modified.
 */
public final class ActivationStats {
  private final int width;
  private final long rows;
  private final double[] gram;
  private final double[] columnSums;
  private final float[] sample;
  private final int sampleRows;

  ActivationStats(int width, long rows, double[] gram, double[] columnSums, float[] sample, int sampleRows) {
    this.width = width;
    this.rows = rows;
    this.gram = gram;
    this.columnSums = columnSums;
    this.sample = sample;
    this.sampleRows = sampleRows;
  }

  /** Features per row (the layer's input width K). */
  public int width() {
    return width;
  }

  /** Rows (tokens) that went into {@link #gram()}. */
  public long rows() {
    return rows;
  }

  /** XᵀX summed over every calibration row, [K, K] row-major; null unless {@link Statistic#GRAM} was collected. */
  public double[] gram() {
    return gram;
  }

  /**
   * Xᵀ1 (each feature summed over every calibration row), [K]; collected with {@link Statistic#GRAM},
   * so that a constant column (an intercept) can be appended to the Gram matrix.
   */
  public double[] columnSums() {
    return columnSums;
  }

  /** Sampled rows of X, [sampleRows, K] row-major; null unless {@link Statistic#SAMPLE} was collected. */
  public float[] sample() {
    return sample;
  }

  public int sampleRows() {
    return sampleRows;
  }
}
