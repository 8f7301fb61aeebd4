package dev.edgelm.compressor;

import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.packaging.PackageWriter;
import java.nio.file.Path;
import java.util.Arrays;

/**
 * One variant to make from a base package, whatever the methods: where from, where to, and the
 * calibration text the steps share.
 *
 * @param base the fp32 package made by {@code edgelm import}
 * @param out the package directory to write
 * @param variantId the variant id, or null for one made from the chain (e.g. {@code kron-tq-gpt2-int4-g32-rtn})
 * @param replace replace an existing package at {@code out} (only an edgelm package is ever replaced)
 * @param calibrationText calibration text, or null; each step that uses it runs it through its own input model
 * @param calibration how the calibration text is cut and run
 */
public record VariantJob(Path base, Path out, String variantId, boolean replace, Path calibrationText,
    CalibrationOptions calibration) {
  public VariantJob {
    if (base == null || out == null) {
      throw new IllegalArgumentException("base and out are required");
    }
    if (calibration == null) {
      calibration = CalibrationOptions.DEFAULTS;
    }
  }

  /** The output, which may not touch the base package or the calibration text. */
  PackageWriter.Target target() {
    return new PackageWriter.Target(out, replace, Arrays.asList(base, calibrationText));
  }
}
