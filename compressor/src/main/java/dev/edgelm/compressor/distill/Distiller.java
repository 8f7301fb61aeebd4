package dev.edgelm.compressor.distill;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.ir.ModelIr;

/**
 * Trains a compressed student against its base. The compressor defines the step; the
 * implementation lives in the {@code trainer} module (libtorch), found through
 * {@link java.util.ServiceLoader}, so that what the compressor ships without it (and the daemon,
 * which never carries it) stays free of the training library.
 *
 * <p>Implementations have a public no-argument constructor and are thread-safe.
 */
public interface Distiller {
  /**
   * Returns the student with trained values, every weight in the form it came in.
   *
   * @param student the model the earlier steps of the chain made
   * @param context the teacher ({@link StepContext#base()}), where the package goes, progress
   * @throws dev.edgelm.compressor.UsageException for a student the trainer cannot express or bad training text
   */
  StepResult distill(ModelIr student, DistillOptions options, StepContext context);

  /** The installed distiller, or null when no trainer is on the class path. */
  static Distiller installed() {
    return java.util.ServiceLoader.load(Distiller.class).findFirst().orElse(null);
  }
}
