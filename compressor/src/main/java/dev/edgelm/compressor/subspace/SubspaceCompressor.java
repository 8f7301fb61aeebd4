package dev.edgelm.compressor.subspace;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.ActivationStats;
import dev.edgelm.compressor.calib.Calibration;
import dev.edgelm.compressor.calib.CalibrationText;
import dev.edgelm.compressor.calib.Calibrator;
import dev.edgelm.compressor.calib.Statistic;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.proto.v1.CalibrationSource;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.SubspaceParams;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.ejml.data.DMatrixRMaj;
import org.ejml.dense.row.factory.DecompositionFactory_DDRM;
import org.ejml.interfaces.decomposition.EigenDecomposition_F64;

/**
 * The {@code subspace} step of a chain: fold ({@link RotationFold}), calibrate, find the basis,
 * project ({@link Projection}).
 *
 * <p>Design. The features are what the readers of the folded model read: at every residual
 * boundary (before each attention, before each MLP, before the head) the stream divided by its root
 * mean square, captured by ONNX Runtime on the calibration text as the inputs of qkv, up and the head
 * (the fold leaves those norms with weight 1, and the head is read without its adapter for this
 * capture). Their second moments XᵀX/N, one per boundary, are summed with equal weight; Q holds the
 * top-K eigenvectors of the sum (TCSP's one global projection). A damping term λI would move no
 * eigenvector, so none is added. Every token counts once per boundary.
 */
public final class SubspaceCompressor {
  private SubspaceCompressor() {}

  /**
   * Runs the step.
   *
   * @throws UsageException when the model is not dense fp32, there is no calibration text, or K is out of range
   */
  public static StepResult step(ModelIr model, SubspaceOptions options, StepContext context) {
    RotationFold.requireDense(model);
    CalibrationText text = context.calibrationText();
    if (text == null) {
      throw new UsageException(missingCalibration());
    }
    int d = model.config().hiddenSize();
    int k = options.keptHidden(model.config());
    context.progress().accept("subspace: hidden " + d + " -> " + k + " (K rounded to a multiple of "
        + SubspaceOptions.MULTIPLE + ")");
    ModelIr folded = RotationFold.fold(model);
    Calibration calibration = Calibrator.collect(folded.withHeadAdapter(null), text, EnumSet.of(Statistic.GRAM),
        context.calibration(), context.progress(), SubspaceCompressor::isBoundary);
    Basis basis = basis(calibration, folded, d, k);
    ModelIr projected = Projection.project(folded, basis.q(), k, options.untieHead());
    double ratio = (double) projected.parameterCount() / model.parameterCount();
    String head = model.head() != null ? "own" : options.untieHead() ? "untied" : "adapter";
    SubspaceParams p = SubspaceParams.newBuilder().setHiddenBefore(d).setHidden(k).setTargetRatio(options.targetRatio())
        .setProjection("global").setHead(head).setKeptEnergy(basis.keptEnergy()).setParameterRatio(ratio).build();
    Step step = Step.newBuilder().setName("subspace").setSubspace(p)
        .setCalibration(CalibrationSource.newBuilder().setDigest(text.digest()).setTokens(text.tokens())
            .setDescription(text.describe()))
        .build();
    Method legacy = Method.newBuilder().setName("subspace")
        .putParams("hidden_before", Integer.toString(d)).putParams("hidden", Integer.toString(k))
        .putParams("projection", "global").putParams("head", head)
        .putParams("kept_energy", String.format(Locale.ROOT, "%.4f", basis.keptEnergy()))
        .putParams("calibration_digest", text.digest()).build();
    String summary = String.format(Locale.ROOT, "hidden %d -> %d (%.1f %% of the features' second moment kept), %,d"
        + " parameters (%.4f of its input), tied head: %s", d, k, 100 * basis.keptEnergy(), projected.parameterCount(),
        ratio, head);
    return new StepResult(projected, step, legacy, List.of(), summary, List.of());
  }

  /** The one-line error for a subspace step without calibration text. */
  public static String missingCalibration() {
    return "subspace needs calibration text to find the subspace of the hidden features; pass --calib FILE"
        + " (text like what the model will see, not the evaluation text)";
  }

  /** The linears whose inputs are the normalised stream at a residual boundary (gate shares up's). */
  static boolean isBoundary(String linear) {
    return linear.endsWith(".attn.qkv") || linear.endsWith(".mlp.up") || linear.equals(ModelIr.HEAD);
  }

  /** Q (d×K row-major) and the share of the second moment's trace it keeps. */
  record Basis(double[] q, double keptEnergy) {}

  static Basis basis(Calibration calibration, ModelIr folded, int d, int k) {
    double[] sum = new double[d * d];
    Map<ActivationStats, Boolean> seen = new IdentityHashMap<>();
    List<String> names = new ArrayList<>();
    for (String name : folded.linears().keySet()) {
      if (isBoundary(name)) {
        names.add(name);
      }
    }
    names.add(ModelIr.HEAD);
    for (String name : names) {
      ActivationStats s = calibration.of(name);
      if (seen.put(s, Boolean.TRUE) != null) {
        continue;
      }
      double[] g = s.gram();
      for (int i = 0; i < sum.length; i++) {
        sum[i] += g[i] / s.rows();
      }
    }
    return topEigenvectors(sum, d, k);
  }

  /** The top-k eigenvectors of the symmetric d×d {@code m}, as columns of a d×k matrix. */
  static Basis topEigenvectors(double[] m, int d, int k) {
    EigenDecomposition_F64<DMatrixRMaj> eig = DecompositionFactory_DDRM.eig(d, true, true);
    if (!eig.decompose(DMatrixRMaj.wrap(d, d, m.clone()))) {
      throw new IllegalStateException("the eigen-decomposition of the features' second moment did not converge");
    }
    Integer[] order = new Integer[d];
    double trace = 0;
    for (int i = 0; i < d; i++) {
      order[i] = i;
      trace += eig.getEigenvalue(i).getReal();
    }
    java.util.Arrays.sort(order, (a, b) -> Double.compare(eig.getEigenvalue(b).getReal(), eig.getEigenvalue(a).getReal()));
    double[] q = new double[d * k];
    double kept = 0;
    for (int t = 0; t < k; t++) {
      DMatrixRMaj v = eig.getEigenVector(order[t]);
      kept += eig.getEigenvalue(order[t]).getReal();
      for (int j = 0; j < d; j++) {
        q[j * k + t] = v.get(j, 0);
      }
    }
    return new Basis(q, kept / trace);
  }
}
