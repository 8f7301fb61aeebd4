package dev.edgelm.compressor.quant;

import java.util.Locale;

/** How weights are mapped onto the quantization grid. */
public enum Algorithm {
  /** Round to nearest, each block's range its min and max. The baseline; needs no calibration. */
  RTN,
  /**
   * Module-wise scaling: per module, the clipping ratio of the weight range that minimises the
   * module's output error on sampled calibration activations, then round to nearest.
   */
  SCALE,
  /** GPTQ: round row by row, feeding each row's error back into the rest through the calibration Hessian. */
  GPTQ;

  /** Whether the algorithm needs calibration activations. */
  public boolean needsCalibration() {
    return this != RTN;
  }

  /** Lower-case name, as on the command line and in descriptors. */
  public String id() {
    return name().toLowerCase(Locale.ROOT);
  }
}
