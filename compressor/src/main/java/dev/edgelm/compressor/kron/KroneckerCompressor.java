package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.report.VariantReport;
import dev.edgelm.proto.v1.CalibrationSource;
import dev.edgelm.proto.v1.KroneckerParams;
import dev.edgelm.proto.v1.MatrixError;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.StepErrors;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Kronecker-factored variants (TQCompressor, Abronin et al., 2024): each planned matrix becomes
 * {@code P (Σ_r A_r ⊗ B_r) Q}.
 *
 * <p>The run, for every matrix of the {@link KronPlan}: the nearest sum of Kronecker products (Van
 * Loan–Pitsianis), then permutation search (row and column assignments alternating with refits).
 * With calibration activations, an activation-aware refit follows in steps: the embedding (with the
 * tied head's activations), then the blocks in {@link KronOptions#refitSteps()} groups, each group
 * refit on activations captured again from the model as compressed so far — so later layers adapt
 * to the errors of earlier ones. Last, permutations that can be folded into a neighbour are
 * ({@link PermutationFolding}).
 *
 * <p>This is where the TQCompressor paper trains (multi-step knowledge distillation); edgelm does
 * not train, and the calibration refit is its substitute.
 *
 * <p>Thread-safe: each call owns its worker threads.
 */
public final class KroneckerCompressor {
  /** The compressed model and what was done. */
  public record Result(ModelIr model, KronReport report) {}

  private KroneckerCompressor() {}

  /**
   * The {@code kron} step of a chain ({@link dev.edgelm.compressor.Method.Kronecker}): factors
   * {@code model}, refitting on the context's calibration text when the job has one.
   *
   * @param layerReport where to write the per-matrix report (Markdown, and JSON beside it) once the
   *     package is written, or null
   * @throws UsageException when the plan factors nothing or a layer is not dense fp32
   */
  public static StepResult step(ModelIr model, KronOptions options, Path layerReport, StepContext context) {
    for (Map.Entry<String, Linear> e : model.linears().entrySet()) {
      if (!(e.getValue().weight() instanceof DenseLinear)) {
        throw new UsageException("layer " + e.getKey() + " is already compressed; kron factors fp32 weights, so put it first");
      }
    }
    CalibratedActivations activations = context.calibrationText() == null ? null
        : new CalibratedActivations(context.calibrationText(), context.calibration(), context.progress());
    Result result = compress(model, options, activations, context.progress());
    KronReport report = result.report();
    List<StepResult.SideFile> files = new ArrayList<>();
    if (layerReport != null) {
      files.add(new StepResult.SideFile(layerReport, report.toMarkdown()));
      files.add(new StepResult.SideFile(layerReport.resolveSibling(layerReport.getFileName() + ".json"), report.toJson()));
    }
    String summary = String.format(Locale.ROOT, "%,d parameters (%.4f of its input)", result.model().parameterCount(),
        report.plan().ratio());
    return new StepResult(result.model(), stepOf(options, report, activations), method(options, report, activations), List.of(),
        summary, files);
  }

  /** The descriptor's record of the step: typed parameters, calibration, per-matrix errors. */
  static Step stepOf(KronOptions options, KronReport report, CalibratedActivations activations) {
    KroneckerParams.Builder p = KroneckerParams.newBuilder()
        .setPreset(options.preset().id())
        .setPermutationIterations(options.permutationIterations())
        .setRefitSteps(activations == null ? 0 : options.refitSteps())
        .setParameterRatio(report.plan().ratio());
    if (options.preset() == KronPreset.TQ_GPT2) {
      p.setMlpRank(options.effectiveMlpRank());
    } else {
      p.setTargetRatio(options.targetRatio());
    }
    StepErrors.Builder errors = StepErrors.newBuilder();
    double sum = 0;
    double max = 0;
    double outputSum = 0;
    int outputs = 0;
    for (KronReport.Layer l : report.layers()) {
      MatrixError.Builder m = MatrixError.newBuilder().setName(l.label()).setWeightError(l.weightErrorFinal());
      if (!Double.isNaN(l.outputErrorRefit())) {
        m.setOutputError(l.outputErrorRefit());
        outputSum += l.outputErrorRefit();
        outputs++;
      }
      errors.addMatrices(m);
      sum += l.weightErrorFinal();
      max = Math.max(max, l.weightErrorFinal());
    }
    if (!report.layers().isEmpty()) {
      errors.setMeanWeightError(sum / report.layers().size()).setMaxWeightError(max);
    }
    if (outputs > 0) {
      errors.setMeanOutputError(outputSum / outputs);
    }
    Step.Builder step = Step.newBuilder().setName("kron").setKronecker(p).setErrors(errors);
    if (activations != null) {
      step.setCalibration(CalibrationSource.newBuilder().setDigest(activations.text().digest())
          .setTokens(activations.text().tokens()).setDescription(activations.text().describe()));
    }
    return step.build();
  }

  /** {@code method} of the descriptor: what was factored, how, and the weight errors. */
  static Method method(KronOptions options, KronReport report, CalibratedActivations activations) {
    KronPlan plan = report.plan();
    Method.Builder m = Method.newBuilder().setName("kron");
    m.putParams("preset", options.preset().id());
    if (options.preset() == KronPreset.TQ_GPT2) {
      m.putParams("mlp_rank", Integer.toString(options.effectiveMlpRank()));
    } else {
      m.putParams("target_ratio", Double.toString(options.targetRatio()));
    }
    m.putParams("factored", report.layers().size() + " matrices: " + describe(plan));
    m.putParams("parameter_ratio", String.format(Locale.ROOT, "%.4f", plan.ratio()));
    m.putParams("factors", "fp32; reshapes and two MatMuls per matrix; permutations as Gather");
    m.putParams("permutation_iterations", Integer.toString(options.permutationIterations()));
    m.putParams("weight_error_mean", String.format(Locale.ROOT, "%.4f without permutations, %.4f with",
        report.meanWeightErrorWithout(), report.meanWeightErrorWith()));
    if (activations == null) {
      m.putParams("refit", "none (weight-space fit)");
    } else {
      m.putParams("refit", "activation-aware ALS, " + options.refitSteps() + " block groups, " + report.calibrationPasses()
          + " calibration passes, " + options.refitIterations() + " sweeps");
      m.putParams("calibration_digest", activations.text().digest());
      m.putParams("calibration_tokens", Long.toString(activations.text().tokens()));
      m.putParams("calibration", activations.text().describe());
    }
    for (KronReport.Layer l : report.layers()) {
      m.putParams(VariantReport.PER_MATRIX_PARAM_PREFIX + l.label(), layerFigures(l));
    }
    return m.build();
  }

  /** E.g. "(384×768)⊗(2×1) rank 1; weight error 0.7069 → 0.6676 with permutations (rows); output error 0.31 → 0.02 refit". */
  static String layerFigures(KronReport.Layer l) {
    String perms = (l.rowsPermuted() ? "rows" : "") + (l.rowsPermuted() && l.columnsPermuted() ? "+" : "")
        + (l.columnsPermuted() ? "cols" : "");
    String s = String.format(Locale.ROOT, "%s; weight error %.4f → %.4f with permutations (%s)", l.shape(),
        l.weightErrorWithout(), l.weightErrorWith(), perms.isEmpty() ? "none kept" : perms);
    if (!Double.isNaN(l.outputErrorWeightOnly())) {
      s += String.format(Locale.ROOT, "; calibration output error %.4f weight-only → %.4f refit (weight error written %.4f)",
          l.outputErrorWeightOnly(), l.outputErrorRefit(), l.weightErrorFinal());
    }
    return s;
  }

  /** E.g. "tok_embed, attn.qkv (q, k, v) in blocks 0-11, mlp.up, mlp.down in blocks 1, 3, 5". */
  static String describe(KronPlan plan) {
    Map<String, java.util.SortedSet<Integer>> blocksByKind = new LinkedHashMap<>();
    List<String> whole = new ArrayList<>();
    for (KronPlan.Entry e : plan.entries()) {
      if (e.layer().startsWith("layers.")) {
        String[] parts = e.layer().split("\\.", 3);
        String kind = parts[2] + (e.part().isEmpty() ? "" : " (q, k, v)");
        blocksByKind.computeIfAbsent(kind, k -> new java.util.TreeSet<>()).add(Integer.parseInt(parts[1]));
      } else if (!whole.contains(e.layer())) {
        whole.add(e.layer().equals(KronPlan.EMBEDDING) ? "token embedding (and the tied head)" : e.layer());
      }
    }
    List<String> out = new ArrayList<>(whole);
    blocksByKind.forEach((kind, blocks) -> out.add(kind + " in blocks " + blocks.stream().map(String::valueOf)
        .collect(java.util.stream.Collectors.joining(","))));
    return String.join("; ", out);
  }

  /**
   * Factors {@code base} from its weights alone (no calibration).
   *
   * @param progress receives one line per matrix
   * @throws UsageException when the plan factors nothing (no dimension divides)
   */
  public static Result compress(ModelIr base, KronOptions options, Consumer<String> progress) {
    return compress(base, options, null, progress);
  }

  /** With {@code activations} non-null, also refits on calibration activations. */
  static Result compress(ModelIr base, KronOptions options, ActivationSource activations, Consumer<String> progress) {
    KronPlan plan = KronPlan.of(base, options);
    if (plan.entries().isEmpty()) {
      throw new UsageException("preset " + options.preset().id() + " factors no matrix of this model: " + String.join("; ", plan.notes()));
    }
    plan.notes().forEach(progress);
    try (Workers workers = new Workers(options.threads())) {
      return new Run(base, plan, options, workers, progress).run(activations);
    }
  }

  /** Mutable per-matrix state of one run. */
  private static final class Fit {
    KronFactors factors;
    int[] rowPos;
    int[] colPos;
    int rounds;
    double norm;
    double without;
    double with;
    double outputBefore = Double.NaN;
    double outputAfter = Double.NaN;
  }

  private static final class Run {
    private final ModelIr base;
    private final KronPlan plan;
    private final KronOptions options;
    private final Workers workers;
    private final Consumer<String> progress;
    private final Map<KronPlan.Entry, Fit> fits = new LinkedHashMap<>();
    private int passes;

    Run(ModelIr base, KronPlan plan, KronOptions options, Workers workers, Consumer<String> progress) {
      this.base = base;
      this.plan = plan;
      this.options = options;
      this.workers = workers;
      this.progress = progress;
    }

    Result run(ActivationSource activations) {
      for (KronPlan.Entry e : plan.entries()) {
        fits.put(e, search(e));
      }
      ModelIr model = base;
      if (activations == null) {
        model = apply(model, plan.entries());
      } else {
        for (List<KronPlan.Entry> group : refitGroups()) {
          model = refitGroup(model, group, activations);
        }
      }
      model = PermutationFolding.fold(model);
      if (model.parameterCount() != plan.parameterCount()) {
        throw new IllegalStateException("factored model has " + model.parameterCount() + " parameters, the plan says "
            + plan.parameterCount());
      }
      List<KronReport.Layer> layers = new ArrayList<>();
      for (Map.Entry<KronPlan.Entry, Fit> e : fits.entrySet()) {
        layers.add(layerReport(e.getKey(), e.getValue()));
      }
      return new Result(model, new KronReport(plan, layers, activations != null, passes, KronCost.of(base), KronCost.of(model)));
    }

    private Fit search(KronPlan.Entry e) {
      KronShape s = e.shape();
      float[] w = denseOf(e);
      PermutationSearch.Result r = PermutationSearch.search(w, s, options.permutationIterations(),
          e.kind() == KronPlan.Kind.EMBEDDING ? Math.min(options.maxPermutationSide(), s.out()) : options.maxPermutationSide(),
          workers);
      Fit f = new Fit();
      f.factors = r.factors();
      f.rowPos = e.kind() == KronPlan.Kind.EMBEDDING ? null : r.rowPos();
      f.colPos = r.colPos();
      f.rounds = r.iterations();
      f.norm = r.norm();
      f.without = r.errorWithout() / nonZero(r.norm());
      f.with = r.errorWith() / nonZero(r.norm());
      progress.accept(String.format(Locale.ROOT, "%s %s: ‖W−Ŵ‖/‖W‖ %.4f, %.4f with permutations (%d rounds)",
          e.label(), s, f.without, f.with, f.rounds));
      return f;
    }

    private static double nonZero(double x) {
      return x == 0 ? 1 : x;
    }

    /** The embedding first, then the blocks in {@code refitSteps} contiguous groups, then an untied head. */
    private List<List<KronPlan.Entry>> refitGroups() {
      int layers = base.config().numLayers();
      int steps = Math.min(options.refitSteps(), layers);
      List<List<KronPlan.Entry>> groups = new ArrayList<>();
      List<KronPlan.Entry> first = new ArrayList<>();
      List<KronPlan.Entry> last = new ArrayList<>();
      List<List<KronPlan.Entry>> blocks = new ArrayList<>();
      for (int g = 0; g < steps; g++) {
        blocks.add(new ArrayList<>());
      }
      for (KronPlan.Entry e : plan.entries()) {
        if (e.kind() == KronPlan.Kind.EMBEDDING) {
          first.add(e);
        } else if (e.kind() == KronPlan.Kind.HEAD) {
          last.add(e);
        } else {
          int block = Integer.parseInt(e.layer().split("\\.")[1]);
          blocks.get((int) ((long) block * steps / layers)).add(e);
        }
      }
      groups.add(first);
      groups.addAll(blocks);
      groups.add(last);
      groups.removeIf(List::isEmpty);
      return groups;
    }

    private ModelIr refitGroup(ModelIr model, List<KronPlan.Entry> group, ActivationSource activations) {
      Set<String> needed = new LinkedHashSet<>();
      for (KronPlan.Entry e : group) {
        if (e.kind() == KronPlan.Kind.EMBEDDING) {
          if (base.config().tiedEmbeddings()) {
            needed.add(ModelIr.HEAD);
          }
        } else {
          needed.add(e.layer());
        }
      }
      Map<String, double[]> grams = needed.isEmpty() ? Map.of() : activations.gramMatrices(model, needed);
      if (!needed.isEmpty()) {
        passes++;
      }
      for (KronPlan.Entry e : group) {
        if (e.kind() == KronPlan.Kind.EMBEDDING) {
          if (base.config().tiedEmbeddings()) {
            refitTiedEmbedding(e, grams.get(ModelIr.HEAD));
          }
        } else {
          refitLinear(e, grams.get(e.layer()));
        }
      }
      return apply(model, group);
    }

    private void refitLinear(KronPlan.Entry e, double[] gram) {
      Fit f = fits.get(e);
      float[] w = denseOf(e);
      double[] h = anchored(require(gram, e), e.shape().in(), options.weightAnchor());
      ActivationRefit.Result r = ActivationRefit.refit(w, f.factors, f.rowPos, f.colPos, h,
          options.refitIterations(), options.refitDamping(), workers);
      if (h != gram) { // report the output error alone, without the anchor's term
        r = new ActivationRefit.Result(r.factors(), ActivationRefit.outputError(w, f.factors, f.rowPos, f.colPos, gram, workers),
            ActivationRefit.outputError(w, r.factors(), f.rowPos, f.colPos, gram, workers), r.iterations());
      }
      record(e, f, r);
    }

    /**
     * The tied table serves the lookup and the head. The objective is the head's output error
     * {@code ‖h(E − Ê)ᵀ‖²} plus the lookup's {@code ‖E − Ê‖²} weighted by
     * {@link KronOptions#embeddingLookupWeight()} times the head inputs' mean energy per feature:
     * in the head's orientation (Eᵀ, inputs d) that is the Gram {@code H + β·tr(H)/d·I}.
     */
    private void refitTiedEmbedding(KronPlan.Entry e, double[] headGram) {
      Fit f = fits.get(e);
      int d = e.shape().out();
      double[] h = anchored(require(headGram, e), d, options.embeddingLookupWeight());
      float[] headWeight = Matrices.transpose(denseOf(e), e.shape().in(), d);
      ActivationRefit.Result r = ActivationRefit.refit(headWeight, f.factors.transpose(), f.colPos, null, h,
          options.refitIterations(), options.refitDamping(), workers);
      double before = r.errorBefore();
      double after = r.errorAfter();
      if (h != headGram) { // report the head's output error alone, without the lookup's term
        before = ActivationRefit.outputError(headWeight, f.factors.transpose(), f.colPos, null, headGram, workers);
        after = ActivationRefit.outputError(headWeight, r.factors(), f.colPos, null, headGram, workers);
      }
      record(e, f, new ActivationRefit.Result(r.factors().transpose(), before, after, r.iterations()));
    }

    /**
     * {@code H + β·tr(H)/d·I}: the Gram of an objective that adds {@code β} times the weight-space
     * error, scaled to the inputs' mean energy per feature, to the output error.
     */
    private static double[] anchored(double[] gram, int d, double beta) {
      if (beta == 0) {
        return gram;
      }
      double[] h = gram.clone();
      double trace = 0;
      for (int i = 0; i < d; i++) {
        trace += h[i * d + i];
      }
      double ridge = beta * trace / d;
      for (int i = 0; i < d; i++) {
        h[i * d + i] += ridge;
      }
      return h;
    }

    private void record(KronPlan.Entry e, Fit f, ActivationRefit.Result r) {
      f.factors = r.factors();
      f.outputBefore = r.errorBefore();
      f.outputAfter = r.errorAfter();
      progress.accept(String.format(Locale.ROOT, "%s refit on activations: ‖X(W−Ŵ)‖/‖XW‖ %.4f → %.4f (%d sweeps)",
          e.label(), r.errorBefore(), r.errorAfter(), r.iterations()));
    }

    private static double[] require(double[] gram, KronPlan.Entry e) {
      if (gram == null) {
        throw new IllegalStateException("no calibration statistics for " + e.layer());
      }
      return gram;
    }

    /** {@code model} with the layers of {@code entries} replaced by their current factors. */
    private ModelIr apply(ModelIr model, List<KronPlan.Entry> entries) {
      Map<String, List<KronPlan.Entry>> byLayer = new LinkedHashMap<>();
      for (KronPlan.Entry e : entries) {
        byLayer.computeIfAbsent(e.layer(), k -> new ArrayList<>()).add(e);
      }
      ModelIr out = model;
      for (Map.Entry<String, List<KronPlan.Entry>> layer : byLayer.entrySet()) {
        if (layer.getKey().equals(KronPlan.EMBEDDING)) {
          Fit f = fits.get(layer.getValue().get(0));
          out = out.withTokenEmbedding(new KroneckerEmbedding(f.factors, f.colPos));
          continue;
        }
        Linear original = base.linears().get(layer.getKey());
        out = out.withLinear(layer.getKey(), original.withWeight(weightOf(layer.getKey(), layer.getValue(), original)));
      }
      return out;
    }

    private LinearWeight weightOf(String layer, List<KronPlan.Entry> entries, Linear original) {
      if (entries.size() == 1 && entries.get(0).part().isEmpty()) {
        Fit f = fits.get(entries.get(0));
        return new KroneckerLinear(f.factors, f.rowPos, f.colPos);
      }
      // Q, K, V column groups; a group the plan left out stays dense.
      ModelConfig c = base.config();
      int[] bounds = {0, c.queryWidth(), c.queryWidth() + c.kvWidth(), c.queryWidth() + 2 * c.kvWidth()};
      String[] names = {"q", "k", "v"};
      Map<String, KronPlan.Entry> byPart = new HashMap<>();
      entries.forEach(e -> byPart.put(e.part(), e));
      List<LinearWeight> parts = new ArrayList<>();
      Tensor dense = null;
      for (int p = 0; p < 3; p++) {
        KronPlan.Entry e = byPart.get(names[p]);
        if (e != null) {
          Fit f = fits.get(e);
          parts.add(new KroneckerLinear(f.factors, f.rowPos, f.colPos));
        } else {
          if (dense == null) {
            dense = original.weight().toDense();
          }
          parts.add(new DenseLinear(dense.columns(bounds[p], bounds[p + 1])));
        }
      }
      return new ColumnGroupsLinear(parts, List.of(names));
    }

    private float[] denseOf(KronPlan.Entry e) {
      if (e.kind() == KronPlan.Kind.EMBEDDING) {
        return base.tokenEmbedding().toDense().data();
      }
      Tensor w = base.linears().get(e.layer()).weight().toDense();
      return e.part().isEmpty() ? w.data() : w.columns(e.columnFrom(), e.columnTo()).data();
    }

    private KronReport.Layer layerReport(KronPlan.Entry e, Fit f) {
      KronShape s = e.shape();
      float[] w = denseOf(e);
      float[] approx = Matrices.gather(f.factors.dense(), s.in(), s.out(), f.rowPos, f.colPos);
      double written = Math.sqrt(Matrices.squaredDistance(w, approx)) / nonZero(f.norm);
      return new KronReport.Layer(e.label(), s, s.denseParameterCount(), f.rowPos != null, f.colPos != null, f.rounds,
          f.without, f.with, written, f.outputBefore, f.outputAfter);
    }
  }
}
