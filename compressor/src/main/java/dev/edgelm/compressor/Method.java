package dev.edgelm.compressor;

import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.distill.DistillOptions;
import dev.edgelm.compressor.distill.DistillParsing;
import dev.edgelm.compressor.distill.Distiller;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.kron.KronOptions;
import dev.edgelm.compressor.kron.KronPreset;
import dev.edgelm.compressor.kron.KroneckerCompressor;
import dev.edgelm.compressor.prune.PruneOptions;
import dev.edgelm.compressor.prune.Pruner;
import dev.edgelm.compressor.quant.Algorithm;
import dev.edgelm.compressor.quant.ClipScope;
import dev.edgelm.compressor.quant.Precision;
import dev.edgelm.compressor.quant.QuantizationOptions;
import dev.edgelm.compressor.quant.Quantizer;
import dev.edgelm.compressor.subspace.SubspaceCompressor;
import dev.edgelm.compressor.subspace.SubspaceOptions;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * One step of a compression chain, with its typed options. {@link Compressor#compress} runs a list
 * of them in order, each on the model the previous one returned.
 *
 * <p>A new method is a new subtype: its record (options and {@link #apply}), its {@link Kind} (the
 * option names it takes and how they parse, listed in {@link #KINDS}) and its implementation. No
 * front end (CLI, recipe) has a branch per method: they hand option maps to {@link MethodChain#parse}.
 */
public sealed interface Method permits Method.Quantization, Method.Kronecker, Method.Pruning, Method.Subspace, Method.Distillation {
  /** Every method, in the order help lists them. */
  List<Kind> KINDS = List.of(Quantization.KIND, Kronecker.KIND, Pruning.KIND, Subspace.KIND, Distillation.KIND);

  /** The step's name in a chain and in the descriptor: {@code int8}, {@code int4}, {@code kron}. */
  String name();

  /** This step's part of a default variant id, e.g. {@code int4-g32-rtn}, {@code kron-tq-gpt2-als}. */
  String idPart(boolean calibrated);

  /**
   * Why the step cannot run without calibration text (one line saying what to pass), or null when
   * it can.
   */
  String calibrationMissing();

  /** Whether the step uses calibration text when one is given. */
  boolean usesCalibration();

  /**
   * Why this step cannot run after {@code earlier} (the steps before it in the chain), or null when it can.
   * The message names both steps and what to do.
   */
  String cannotFollow(List<Method> earlier);

  /**
   * Runs the step on {@code model} (the base, or the previous step's output).
   *
   * @throws UsageException for a model the step cannot take
   */
  StepResult apply(ModelIr model, StepContext context);

  /**
   * A method family as front ends see it: the chain names it answers to, the options it takes
   * (option names without dashes, as on the command line and in recipes) and how they parse.
   */
  record Kind(List<String> names, List<OptionSpec> options, Parser parser) {
    public Kind {
      names = List.copyOf(names);
      options = List.copyOf(options);
    }

    public boolean takes(String option) {
      return options.stream().anyMatch(o -> o.name().equals(option));
    }
  }

  /** One option of a method: {@code --name LABEL}, or a flag without a value. */
  record OptionSpec(String name, String label, boolean flag, String description) {}

  /** Builds a method from its name and its options (already narrowed to this step). */
  @FunctionalInterface
  interface Parser {
    Method parse(String name, StepOptions options);
  }

  /**
   * int8 or int4 weights (RTN, clipping search or GPTQ), see {@link Quantizer}. After a Kronecker
   * step it quantizes the factor matrices and the layers that step left dense.
   *
   * @param sampleRows {@code --algo scale}: activation rows sampled per module
   */
  record Quantization(QuantizationOptions options, int sampleRows) implements Method {
    static final Kind KIND = new Kind(List.of("int8", "int4"), List.of(
        new OptionSpec("algo", "ALGO", false, "int8/int4: rtn, scale or gptq (default: rtn)."),
        new OptionSpec("group-size", "N", false,
            "int4: inputs per block, 32, 64 or 128 (default: " + QuantizationOptions.DEFAULT_GROUP_SIZE + ")."),
        new OptionSpec("accuracy-level", "N", false, "int4: MatMulNBits accuracy_level 0-4; 4 computes with int8 activations,"
            + " the fast CPU path (default: " + QuantizationOptions.DEFAULT_ACCURACY_LEVEL + ")."),
        new OptionSpec("clip-scope", "SCOPE", false,
            "--algo scale: one clipping ratio per 'module' (as in the paper) or per output 'channel' (default: channel)."),
        new OptionSpec("act-order", null, true, "--algo gptq: quantize inputs by decreasing Hessian diagonal."),
        new OptionSpec("damping", "F", false,
            "--algo gptq: damping as a fraction of the mean Hessian diagonal (default: " + QuantizationOptions.DEFAULT_DAMPING + ")."),
        new OptionSpec("calib-sample-rows", "N", false, "--algo scale: activation rows sampled per module to measure output error"
            + " on (default: " + CalibrationOptions.DEFAULT_SAMPLE_ROWS + ").")),
        Quantization::parse);

    public Quantization {
      if (options == null || sampleRows < 1) {
        throw new IllegalArgumentException("quantization options are required and sample rows must be positive");
      }
    }

    /** With the default sample rows. */
    public Quantization(QuantizationOptions options) {
      this(options, CalibrationOptions.DEFAULT_SAMPLE_ROWS);
    }

    @Override
    public String name() {
      return options.precision().id();
    }

    @Override
    public String idPart(boolean calibrated) {
      return options.variantId();
    }

    @Override
    public String calibrationMissing() {
      return options.algorithm().needsCalibration() ? Quantizer.missingCalibration(options.algorithm()).getMessage() : null;
    }

    @Override
    public boolean usesCalibration() {
      return options.algorithm().needsCalibration();
    }

    @Override
    public String cannotFollow(List<Method> earlier) {
      for (Method m : earlier) {
        if (m instanceof Quantization) {
          return name() + " cannot follow " + m.name() + ": the weights are already quantized; keep one quantization step, last";
        }
      }
      return null;
    }

    @Override
    public StepResult apply(ModelIr model, StepContext context) {
      return Quantizer.step(model, options, context.withSampleRows(sampleRows));
    }

    private static Method parse(String name, StepOptions o) {
      Precision precision = name.equals("int8") ? Precision.INT8 : Precision.INT4;
      String algoText = o.string("algo", "rtn");
      Algorithm algorithm;
      try {
        algorithm = Algorithm.valueOf(algoText.toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageException(o.flag("algo") + " must be rtn, scale or gptq, got '" + algoText + "'");
      }
      if (precision == Precision.INT8 && o.has("group-size")) {
        throw new UsageException(o.flag("group-size") + " applies to int4; int8 has one scale per output channel");
      }
      if (precision == Precision.INT8 && o.has("accuracy-level")) {
        throw new UsageException(o.flag("accuracy-level") + " applies to int4 (MatMulNBits); int8 always computes in int8");
      }
      if (algorithm != Algorithm.GPTQ && (o.has("act-order") || o.has("damping"))) {
        throw new UsageException(o.flag("act-order") + " and " + o.flag("damping") + " apply to --algo gptq");
      }
      if (algorithm != Algorithm.SCALE && (o.has("clip-scope") || o.has("calib-sample-rows"))) {
        throw new UsageException(o.flag(o.has("clip-scope") ? "clip-scope" : "calib-sample-rows") + " applies to --algo scale");
      }
      QuantizationOptions q = precision == Precision.INT8
          ? QuantizationOptions.int8(algorithm)
          : QuantizationOptions.int4(o.integer("group-size", QuantizationOptions.DEFAULT_GROUP_SIZE), algorithm);
      if (o.has("accuracy-level")) {
        q = q.withAccuracyLevel(o.integer("accuracy-level", 0));
      }
      if (o.has("clip-scope")) {
        String scope = o.string("clip-scope", "");
        try {
          q = q.withClipScope(ClipScope.valueOf(scope.toUpperCase(Locale.ROOT)));
        } catch (IllegalArgumentException e) {
          throw new UsageException(o.flag("clip-scope") + " must be module or channel, got '" + scope + "'");
        }
      }
      if (o.has("damping")) {
        q = q.withDamping(o.decimal("damping", QuantizationOptions.DEFAULT_DAMPING));
      }
      q = q.withThreads(o.threads()).withActOrder(o.bool("act-order"));
      return new Quantization(q, o.integer("calib-sample-rows", CalibrationOptions.DEFAULT_SAMPLE_ROWS));
    }
  }

  /**
   * Kronecker-factored layers (TQCompressor), see {@link KroneckerCompressor}.
   *
   * @param layerReport where to write the per-matrix shapes and errors (Markdown, and JSON beside
   *     it), or null; written once the package is
   */
  record Kronecker(KronOptions options, Path layerReport) implements Method {
    static final Kind KIND = new Kind(List.of("kron"), List.of(
        new OptionSpec("preset", "NAME", false, "kron: tq-gpt2 (TQCompressedGPT-2's layout) or auto (the same kinds of layer at a"
            + " kept fraction chosen from --target-ratio) (default: tq-gpt2)."),
        new OptionSpec("rank", "R", false,
            "kron with tq-gpt2: rank of the MLP factors (default: " + KronOptions.DEFAULT_TQ_MLP_RANK + ")."),
        new OptionSpec("target-ratio", "F", false,
            "kron with auto: parameters kept as a fraction of the base's (default: " + KronOptions.DEFAULT_TARGET_RATIO + ")."),
        new OptionSpec("permutation-iterations", "N", false, "kron: rounds of permutation search per matrix; 0 fits without"
            + " permutations (default: " + KronOptions.DEFAULT_PERMUTATION_ITERATIONS + ")."),
        new OptionSpec("refit-steps", "N", false, "kron with --calib: groups of blocks refit one after the other, activations"
            + " captured again before each (default: " + KronOptions.DEFAULT_REFIT_STEPS + ")."),
        new OptionSpec("layer-report", "FILE", false,
            "kron: write the per-matrix shapes and errors as Markdown to FILE (and JSON to FILE.json).")),
        Kronecker::parse);

    public Kronecker {
      if (options == null) {
        throw new IllegalArgumentException("Kronecker options are required");
      }
    }

    public Kronecker(KronOptions options) {
      this(options, null);
    }

    @Override
    public String name() {
      return "kron";
    }

    @Override
    public String idPart(boolean calibrated) {
      return "kron-" + options.preset().id() + (calibrated ? "-als" : "");
    }

    @Override
    public String calibrationMissing() {
      return null;
    }

    @Override
    public boolean usesCalibration() {
      return true;
    }

    @Override
    public String cannotFollow(List<Method> earlier) {
      for (Method m : earlier) {
        if (m instanceof Quantization) {
          return "kron cannot follow " + m.name() + ": Kronecker factorisation needs fp32 weights; put kron first, e.g. kron,"
              + m.name();
        }
        if (m instanceof Kronecker) {
          return "kron cannot follow kron: the layers are already factored; keep one kron step";
        }
        if (m instanceof Pruning) {
          return "kron cannot follow prune: Kronecker layouts need the full head and FFN widths; use prune or kron,"
              + " or chain a quantization after either (prune,int4)";
        }
      }
      return null;
    }

    @Override
    public StepResult apply(ModelIr model, StepContext context) {
      return KroneckerCompressor.step(model, options, layerReport, context);
    }

    private static Method parse(String name, StepOptions o) {
      String presetText = o.string("preset", null);
      KronPreset p;
      try {
        p = presetText == null ? KronOptions.DEFAULT_PRESET : KronPreset.fromId(presetText);
      } catch (IllegalArgumentException e) {
        throw new UsageException(o.flag("preset") + " must be tq-gpt2 or auto, got '" + presetText + "'");
      }
      if (o.has("rank") && p != KronPreset.TQ_GPT2) {
        throw new UsageException(o.flag("rank") + " applies to --preset tq-gpt2; auto chooses ranks from --target-ratio");
      }
      if (o.has("target-ratio") && p != KronPreset.AUTO) {
        throw new UsageException(o.flag("target-ratio") + " applies to --preset auto; tq-gpt2 has a fixed layout");
      }
      if (o.has("refit-steps") && !o.calibrated()) {
        throw new UsageException(o.flag("refit-steps") + " applies to the activation-aware refit; pass --calib FILE");
      }
      KronOptions k = KronOptions.DEFAULTS.withPreset(p);
      try {
        if (o.has("rank")) {
          int rank = o.integer("rank", 0);
          if (rank < 1) {
            throw new UsageException(o.flag("rank") + " must be at least 1, got " + rank);
          }
          k = k.withMlpRank(rank);
        }
        if (o.has("target-ratio")) {
          k = k.withTargetRatio(o.decimal("target-ratio", 0));
        }
        if (o.has("permutation-iterations")) {
          k = k.withPermutationIterations(o.integer("permutation-iterations", 0));
        }
        if (o.has("refit-steps")) {
          k = k.withRefitSteps(o.integer("refit-steps", 0));
        }
        k = k.withThreads(o.threads());
      } catch (IllegalArgumentException e) {
        throw new UsageException("kron option out of range: " + e.getMessage());
      }
      String report = o.string("layer-report", null);
      return new Kronecker(k, report == null ? null : Path.of(report));
    }
  }

  /**
   * Structured pruning of attention heads and FFN channel blocks chosen by reweighted group lasso on each layer's
   * reconstruction, with a least-squares refit, see {@link Pruner}. Needs calibration text; runs on
   * fp32 weights, so it comes first in a chain ({@code prune,int4}).
   */
  record Pruning(PruneOptions options) implements Method {
    static final Kind KIND = new Kind(List.of("prune"), List.of(
        new OptionSpec("target-ratio", "R", false, "prune: fraction of the blocks' linear parameters to remove, in (0, "
            + PruneOptions.MAX_TARGET_RATIO + "]; embeddings and head are excluded (required)."),
        new OptionSpec("granularity", "G", false, "prune: heads (attention heads), ffn (FFN channel blocks) or both"
            + " (default: " + PruneOptions.DEFAULT_GRANULARITY.id() + ")."),
        new OptionSpec("head-group", "H", false, "prune with heads: kv (a KV head with its query heads) or query (query heads"
            + " alone, the same number from every KV head) (default: " + PruneOptions.DEFAULT_HEAD_GROUP.id() + ")."),
        new OptionSpec("ffn-block", "K", false,
            "prune: FFN channels per group (default: " + PruneOptions.DEFAULT_FFN_BLOCK + ")."),
        new OptionSpec("criterion", "C", false, "prune: lasso (group lasso on reconstruction), magnitude or fluctuation"
            + " (FLAP) (default: " + PruneOptions.DEFAULT_CRITERION.id() + ")."),
        new OptionSpec("allocation", "A", false, "prune: uniform (every layer loses the same) or global (greedy on every"
            + " layer's reconstruction-error curve) (default: " + PruneOptions.DEFAULT_ALLOCATION.id() + ")."),
        new OptionSpec("no-reweight", null, true, "prune --criterion lasso: plain group lasso, no reweighting."),
        new OptionSpec("no-refit", null, true, "prune: keep the survivors' weights instead of refitting them by least squares.")),
        Pruning::parse);

    public Pruning {
      if (options == null) {
        throw new IllegalArgumentException("prune options are required");
      }
    }

    @Override
    public String name() {
      return "prune";
    }

    @Override
    public String idPart(boolean calibrated) {
      return options.variantId();
    }

    @Override
    public String calibrationMissing() {
      return Pruner.missingCalibration();
    }

    @Override
    public boolean usesCalibration() {
      return true;
    }

    @Override
    public String cannotFollow(List<Method> earlier) {
      for (Method m : earlier) {
        return "prune cannot follow " + m.name() + ": pruning needs the dense fp32 weights; put prune first, e.g. prune,"
            + m.name();
      }
      return null;
    }

    @Override
    public StepResult apply(ModelIr model, StepContext context) {
      return Pruner.step(model, options, context);
    }

    private static Method parse(String name, StepOptions o) {
      if (!o.has("target-ratio")) {
        throw new UsageException("prune needs " + o.flag("target-ratio") + " R, the fraction of the blocks' linear parameters"
            + " to remove, in (0, " + PruneOptions.MAX_TARGET_RATIO + "]");
      }
      double ratio = o.decimal("target-ratio", 0);
      if (!(ratio > 0 && ratio <= PruneOptions.MAX_TARGET_RATIO)) {
        throw new UsageException(o.flag("target-ratio") + " must be in (0, " + PruneOptions.MAX_TARGET_RATIO + "], got "
            + o.string("target-ratio", ""));
      }
      String g = o.string("granularity", PruneOptions.DEFAULT_GRANULARITY.id());
      PruneOptions.Granularity granularity;
      try {
        granularity = PruneOptions.Granularity.valueOf(g.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageException(o.flag("granularity") + " must be heads, ffn or both, got '" + g + "'");
      }
      String h = o.string("head-group", PruneOptions.DEFAULT_HEAD_GROUP.id());
      PruneOptions.HeadGroup headGroup;
      try {
        headGroup = PruneOptions.HeadGroup.valueOf(h.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageException(o.flag("head-group") + " must be kv or query, got '" + h + "'");
      }
      if (o.has("head-group") && !granularity.heads()) {
        throw new UsageException(o.flag("head-group") + " applies to --granularity heads or both");
      }
      String c = o.string("criterion", PruneOptions.DEFAULT_CRITERION.id());
      PruneOptions.Criterion criterion;
      try {
        criterion = PruneOptions.Criterion.valueOf(c.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageException(o.flag("criterion") + " must be lasso, magnitude or fluctuation, got '" + c + "'");
      }
      if (o.has("no-reweight") && criterion != PruneOptions.Criterion.LASSO) {
        throw new UsageException(o.flag("no-reweight") + " applies to --criterion lasso");
      }
      String a = o.string("allocation", PruneOptions.DEFAULT_ALLOCATION.id());
      PruneOptions.Allocation allocation;
      try {
        allocation = PruneOptions.Allocation.valueOf(a.strip().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new UsageException(o.flag("allocation") + " must be uniform or global, got '" + a + "'");
      }
      int block = o.integer("ffn-block", PruneOptions.DEFAULT_FFN_BLOCK);
      if (block < 1) {
        throw new UsageException(o.flag("ffn-block") + " must be at least 1, got " + block);
      }
      return new Pruning(new PruneOptions(ratio, granularity, block, criterion, !o.bool("no-reweight"), !o.bool("no-refit"),
          headGroup, allocation));
    }
  }

  /**
   * A smaller hidden size by one global orthogonal projection (TCSP) after an exact
   * rotation-invariant fold of the norms, see {@link SubspaceCompressor}. Needs calibration text and
   * fp32 weights: after prune, before quantization ({@code prune,subspace,int4}).
   */
  record Subspace(SubspaceOptions options) implements Method {
    static final Kind KIND = new Kind(List.of("subspace"), List.of(
        new OptionSpec("hidden", "K", false, "subspace: hidden size to keep, rounded to a multiple of "
            + SubspaceOptions.MULTIPLE + " (or --target-ratio)."),
        new OptionSpec("target-ratio", "R", false, "subspace: fraction of the hidden size to remove, in (0, 1) (or --hidden)."),
        new OptionSpec("per-boundary", null, true, "subspace: one basis per residual boundary (SliceGPT); not built yet."),
        new OptionSpec("untie-head", null, true,
            "subspace: give a tied head its own K x vocab matrix instead of the small adapter (larger; for comparison).")),
        Subspace::parse);

    public Subspace {
      if (options == null) {
        throw new IllegalArgumentException("subspace options are required");
      }
    }

    @Override
    public String name() {
      return "subspace";
    }

    @Override
    public String idPart(boolean calibrated) {
      return options.variantId();
    }

    @Override
    public String calibrationMissing() {
      return SubspaceCompressor.missingCalibration();
    }

    @Override
    public boolean usesCalibration() {
      return true;
    }

    @Override
    public String cannotFollow(List<Method> earlier) {
      for (Method m : earlier) {
        if (!(m instanceof Pruning)) {
          return "subspace cannot follow " + m.name() + ": the projection needs dense fp32 weights, once; put it after prune"
              + " and before quantization, e.g. subspace,int4";
        }
      }
      return null;
    }

    @Override
    public StepResult apply(ModelIr model, StepContext context) {
      return SubspaceCompressor.step(model, options, context);
    }

    private static Method parse(String name, StepOptions o) {
      if (o.has("per-boundary")) {
        throw new UsageException(o.flag("per-boundary") + " (one basis per residual boundary) is not built yet; drop it"
            + " to use the global projection");
      }
      if (o.has("hidden") == o.has("target-ratio")) {
        throw new UsageException("subspace needs exactly one of " + o.flag("hidden") + " K (the hidden size to keep) and "
            + o.flag("target-ratio") + " R (the fraction of it to remove, in (0, 1))");
      }
      int hidden = o.integer("hidden", 0);
      double ratio = o.decimal("target-ratio", 0);
      if (o.has("hidden") && hidden < 1) {
        throw new UsageException(o.flag("hidden") + " must be a positive hidden size, got " + o.string("hidden", ""));
      }
      if (o.has("target-ratio") && !(ratio > 0 && ratio < 1)) {
        throw new UsageException(o.flag("target-ratio") + " must be in (0, 1), got " + o.string("target-ratio", ""));
      }
      return new Subspace(new SubspaceOptions(hidden, ratio, o.bool("untie-head")));
    }
  }

  /**
   * Knowledge distillation of the chain so far against the base, in the student's own
   * parametrisation (Kronecker factors, pruned widths), see {@link Distiller}. The implementation is
   * the {@code trainer} module's; without it on the class path the step is refused before any work.
   */
  record Distillation(DistillOptions options) implements Method {
    static final Kind KIND = new Kind(List.of("distill"), DistillParsing.OPTIONS, (name, o) -> new Distillation(DistillParsing.parse(o)));

    public Distillation {
      if (options == null) {
        throw new IllegalArgumentException("distill options are required");
      }
    }

    @Override
    public String name() {
      return "distill";
    }

    @Override
    public String idPart(boolean calibrated) {
      long t = options.trainTokens();
      return "distill-" + (t % 1_000_000 == 0 ? t / 1_000_000 + "m" : t % 1_000 == 0 ? t / 1_000 + "k" : String.valueOf(t));
    }

    @Override
    public String calibrationMissing() {
      return null;
    }

    static String trainerMissing() {
      return "distill needs the edgelm trainer (libtorch), which this build does not carry; run it with the edgelm CLI";
    }

    @Override
    public boolean usesCalibration() {
      return false;
    }

    @Override
    public String cannotFollow(List<Method> earlier) {
      if (Distiller.installed() == null) {
        return trainerMissing();
      }
      if (earlier.isEmpty()) {
        return "distill needs a compressed student to train: put it after kron or prune, e.g. kron,distill";
      }
      for (Method m : earlier) {
        if (m instanceof Quantization) {
          return "distill cannot follow " + m.name() + ": quantization-aware training is not built yet; distill before"
              + " quantizing, e.g. kron,distill," + m.name();
        }
        if (m instanceof Distillation) {
          return "distill cannot follow distill: keep one distill step";
        }
        if (m instanceof Subspace) {
          return "distill cannot follow subspace yet: the trainer does not express the folded norms and the tied head's"
              + " adapter; distill a kron or prune student, e.g. prune,distill";
        }
      }
      return null;
    }

    @Override
    public StepResult apply(ModelIr model, StepContext context) {
      Distiller d = Distiller.installed();
      if (d == null) {
        throw new UsageException(trainerMissing());
      }
      return d.distill(model, options, context);
    }
  }
}
