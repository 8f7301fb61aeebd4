package dev.edgelm.compressor;

import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.calib.CalibrationText;
import dev.edgelm.compressor.packaging.PackageReader;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * What a step of a chain gets besides the model: the job's calibration text (cut once, with the
 * base package's tokenizer; each step runs it through the model it is given, i.e. the output of the
 * steps before it), how calibration runs, and where progress lines go.
 */
public final class StepContext {
  private final CalibrationText text;
  private final CalibrationOptions calibration;
  private final Consumer<String> progress;
  private final PackageReader.BasePackage base;
  private final Path out;

  StepContext(CalibrationText text, CalibrationOptions calibration, Consumer<String> progress) {
    this(text, calibration, progress, null, null);
  }

  StepContext(CalibrationText text, CalibrationOptions calibration, Consumer<String> progress, PackageReader.BasePackage base,
      Path out) {
    this.text = text;
    this.calibration = calibration;
    this.progress = progress;
    this.base = base;
    this.out = out;
  }

  /** The base package the chain starts from (a distillation's teacher), or null outside {@link Compressor#compress}. */
  public PackageReader.BasePackage base() {
    return base;
  }

  /** The package directory the job writes, or null outside {@link Compressor#compress}; steps keep work files beside it. */
  public Path out() {
    return out;
  }

  /** The calibration text, or null when the job has none. */
  public CalibrationText calibrationText() {
    return text;
  }

  public CalibrationOptions calibration() {
    return calibration;
  }

  public Consumer<String> progress() {
    return progress;
  }

  /** The same context with {@code rows} activation rows sampled per module. */
  StepContext withSampleRows(int rows) {
    return new StepContext(text, calibration.withSampleRows(rows), progress, base, out);
  }
}
