package dev.edgelm.compressor;

import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.Step;
import java.nio.file.Path;
import java.util.List;

/**
 * What one step of a chain produced.
 *
 * @param model the model after the step, the next step's input
 * @param step the descriptor's record of the step: name, typed parameters, calibration, errors
 * @param legacy the step as the descriptor's {@code method} (name and text parameters) spells it,
 *     for readers of the format before chains
 * @param preferredCpuFeatures CPU features that make the step's kernels faster
 * @param summary a short clause for the command's last line, e.g. {@code 81,234 parameters (0.6543 of its input)}, or empty
 * @param files side files to write once the package is in place (e.g. a layer report)
 */
public record StepResult(ModelIr model, Step step, Method legacy, List<String> preferredCpuFeatures, String summary,
    List<SideFile> files) {
  public StepResult {
    preferredCpuFeatures = List.copyOf(preferredCpuFeatures);
    files = List.copyOf(files);
  }

  /** A text file a step asks to have written beside its package. */
  public record SideFile(Path path, String content) {}
}
