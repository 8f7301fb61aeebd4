package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.calib.Calibration;
import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.calib.CalibrationText;
import dev.edgelm.compressor.calib.Calibrator;
import dev.edgelm.compressor.calib.Statistic;
import dev.edgelm.compressor.ir.ModelIr;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Input Gram matrices from the compressor's calibration ({@link Calibrator}): the given model —
 * partly factored, its factored layers emitting themselves — runs the calibration text in ONNX
 * Runtime and {@code XᵀX} is accumulated for every linear input. One run per call.
 */
final class CalibratedActivations implements ActivationSource {
  private final CalibrationText text;
  private final CalibrationOptions options;
  private final Consumer<String> progress;

  CalibratedActivations(CalibrationText text, CalibrationOptions options, Consumer<String> progress) {
    this.text = text;
    this.options = options;
    this.progress = progress;
  }

  CalibrationText text() {
    return text;
  }

  @Override
  public Map<String, double[]> gramMatrices(ModelIr model, Set<String> linears) {
    Calibration c = Calibrator.collect(model, text, EnumSet.of(Statistic.GRAM), options, progress);
    Map<String, double[]> out = new LinkedHashMap<>();
    for (String name : linears) {
      out.put(name, c.of(name).gram());
    }
    return out;
  }
}
