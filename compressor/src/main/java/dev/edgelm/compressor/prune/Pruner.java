package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.Calibration;
import dev.edgelm.compressor.calib.Calibrator;
import dev.edgelm.compressor.calib.Statistic;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.prune.PruneOptions.Criterion;
import dev.edgelm.proto.v1.CalibrationSource;
import dev.edgelm.proto.v1.LayerPrune;
import dev.edgelm.proto.v1.MatrixError;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.PruneParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.StepErrors;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Structured pruning of attention heads and FFN channel blocks: the {@code prune} step of a chain.
 *
 * <p>Design. A group is removed whole, so a layer becomes physically smaller (the IR, the ONNX graph
 * and the descriptor carry per-layer head counts and FFN widths) rather than holding zeros: an FFN
 * group is {@code ffnBlock} consecutive channels ({@link FfnGroups}), a head group one KV head with
 * its query heads or one query head ({@link HeadGroups}). Layers are pruned in order, heads before the
 * FFN; each consumer (attn.out, then mlp.down) is calibrated on the outputs of the already-pruned
 * prefix (ONNX Runtime, the graph cut after that consumer's input), so later layers see and can absorb
 * the earlier error. The consumer's problem ({@link Problem}) is posed on G = H̃ᵀH̃ / N with a
 * constant column for the intercept, damped by 1 % of the mean diagonal; {@link GroupChoice} picks the
 * groups (reweighted group lasso, magnitude or FLAP's fluctuation) and refits the survivors by least
 * squares with the intercept (the structured OBS update; the intercept is bias compensation).
 *
 * <p>Budget: {@link Budget}, uniform across layers or global on their error curves. Each layer keeps at least one group of each kind.
 */
public final class Pruner {
  static final double DAMPING = 0.01;

  private Pruner() {}

  /**
   * Runs the step.
   *
   * @throws UsageException when the model is not dense fp32, has no calibration text, or cannot lose
   *     the asked ratio with the chosen granularity
   */
  public static StepResult step(ModelIr model, PruneOptions options, StepContext context) {
    for (Map.Entry<String, Linear> e : model.linears().entrySet()) {
      if (!(e.getValue().weight() instanceof DenseLinear)) {
        throw new UsageException("layer " + e.getKey() + " is already compressed; prune needs fp32 weights, so put it first");
      }
    }
    if (context.calibrationText() == null) {
      throw new UsageException(missingCalibration());
    }
    Budget budget = options.allocation() == PruneOptions.Allocation.GLOBAL ? Budget.global(model, options, context)
        : Budget.uniform(model, options);
    int hd = model.config().headDim();
    ModelIr current = model;
    List<LayerPrune> layers = new ArrayList<>();
    List<MatrixError> errors = new ArrayList<>();
    for (int l = 0; l < model.blocks().size(); l++) {
      Block b = current.blocks().get(l);
      HeadGroups heads = new HeadGroups(b, hd, options.headGroup());
      int f = b.up().outFeatures();
      LayerPrune.Builder rec = LayerPrune.newBuilder().setLayer(l).setFfnChannelsBefore(f).setFfnChannelsKept(f)
          .setHeadsBefore(b.numHeads(hd)).setHeadsKept(b.numHeads(hd)).setKvHeadsBefore(b.numKvHeads(hd))
          .setKvHeadsKept(b.numKvHeads(hd));
      if (budget.headKeep()[l] < heads.count()) {
        String out = ModelIr.layerName(l, "attn.out");
        Problem p = problem(current, out, b.attnOut(), context);
        GroupChoice.Result r = GroupChoice.choose(p, heads.groups(), heads.bins(), budget.headKeep()[l], heads.producerMagnitude(b),
            options);
        b = heads.narrowed(b, r, p);
        current = replaceBlock(current, l, b);
        rec.setHeadsKept(b.numHeads(hd)).setKvHeadsKept(b.numKvHeads(hd)).addAllKeptHeads(heads.queryHeads(r.keptGroups()))
            .setHeadLambda(r.lambda()).setHeadRounds(r.rounds()).setHeadReconstructionError(r.errorAfter())
            .setHeadReconstructionErrorBeforeRefit(r.errorBefore());
        errors.add(MatrixError.newBuilder().setName(out).setWeightError(r.weightError()).setOutputError(r.errorAfter()).build());
      }
      if (budget.ffnKeep()[l] < FfnGroups.count(f, options.ffnBlock())) {
        String down = ModelIr.layerName(l, "mlp.down");
        Problem p = problem(current, down, b.down(), context);
        GroupChoice.Result r = GroupChoice.choose(p, FfnGroups.groups(f, options.ffnBlock()), null, budget.ffnKeep()[l],
            FfnGroups.producerMagnitude(b, FfnGroups.groups(f, options.ffnBlock())), options);
        b = FfnGroups.narrowed(b, r, p);
        current = replaceBlock(current, l, b);
        rec.setFfnChannelsKept(r.rows().length).addAllKeptFfnGroups(r.keptGroups()).setLambda(r.lambda()).setRounds(r.rounds())
            .setReconstructionError(r.errorAfter()).setReconstructionErrorBeforeRefit(r.errorBefore());
        errors.add(MatrixError.newBuilder().setName(down).setWeightError(r.weightError()).setOutputError(r.errorAfter()).build());
      }
      LayerPrune record = rec.build();
      layers.add(record);
      context.progress().accept(String.format(Locale.ROOT, "prune: layer %d keeps %d of %d heads (%d of %d KV), %d of %d FFN"
          + " channels; output error attn.out %.4f, mlp.down %.4f", l, record.getHeadsKept(), record.getHeadsBefore(),
          record.getKvHeadsKept(), record.getKvHeadsBefore(), record.getFfnChannelsKept(), f, record.getHeadReconstructionError(),
          record.getReconstructionError()));
    }
    return result(model, current, options, budget.allocation(), layers, errors, context);
  }

  private static Problem problem(ModelIr current, String consumer, Linear linear, StepContext context) {
    Calibration calibration = Calibrator.collect(current, context.calibrationText(), EnumSet.of(Statistic.GRAM),
        context.calibration(), context.progress(), consumer::equals);
    return Problem.of(calibration.of(consumer), linear);
  }

  private static StepResult result(ModelIr model, ModelIr current, PruneOptions options, String allocation, List<LayerPrune> layers,
      List<MatrixError> errors, StepContext context) {
    long before = blockLinearParameters(model);
    long after = blockLinearParameters(current);
    double removed = 1 - (double) after / before;
    PruneParams.Builder p = PruneParams.newBuilder().setTargetRatio(options.targetRatio())
        .setGranularity(options.granularity().id()).setFfnBlock(options.ffnBlock()).setCriterion(options.criterion().id())
        .setReweight(options.criterion() == Criterion.LASSO && options.reweight()).setRefit(options.refit())
        .setRemovedRatio(removed).setAllocation(allocation).addAllLayers(layers);
    if (options.granularity().heads()) {
      p.setHeadGroup(options.headGroup().id());
    }
    StepErrors.Builder e = StepErrors.newBuilder().addAllMatrices(errors);
    double sum = 0;
    double max = 0;
    double out = 0;
    for (MatrixError m : errors) {
      sum += m.getWeightError();
      max = Math.max(max, m.getWeightError());
      out += m.getOutputError();
    }
    int n = Math.max(1, errors.size());
    e.setMeanWeightError(sum / n).setMaxWeightError(max).setMeanOutputError(out / n);
    var text = context.calibrationText();
    Step step = Step.newBuilder().setName("prune").setPrune(p).setErrors(e)
        .setCalibration(CalibrationSource.newBuilder().setDigest(text.digest()).setTokens(text.tokens())
            .setDescription(text.describe()))
        .build();
    Method.Builder legacy = Method.newBuilder().setName("prune")
        .putParams("target_ratio", Double.toString(options.targetRatio()))
        .putParams("granularity", options.granularity().id())
        .putParams("ffn_block", Integer.toString(options.ffnBlock()))
        .putParams("criterion", options.criterion().id())
        .putParams("reweight", Boolean.toString(p.getReweight()))
        .putParams("refit", Boolean.toString(options.refit()))
        .putParams("removed_ratio", String.format(Locale.ROOT, "%.4f", removed))
        .putParams("allocation", allocation)
        .putParams("scope", "blocks' linear parameters; embeddings and head excluded")
        .putParams("calibration_digest", text.digest());
    if (options.granularity().heads()) {
      legacy.putParams("head_group", options.headGroup().id());
    }
    String summary = String.format(Locale.ROOT,
        "removed %.1f %% of the blocks' linear parameters (embeddings and head excluded), heads %s, KV heads %s, FFN widths %s",
        100 * removed, Arrays.toString(current.headCounts()), Arrays.toString(current.kvHeadCounts()),
        Arrays.toString(current.ffnWidths()));
    return new StepResult(current, step, legacy.build(), List.of(), summary, List.of());
  }

  /** The one-line error for a prune step without calibration text. */
  public static String missingCalibration() {
    return "prune needs calibration text to measure each layer's reconstruction; pass --calib FILE"
        + " (text like what the model will see, not the evaluation text)";
  }

  /** Linear parameters of the blocks (weights and biases of qkv, attn.out, up, gate, down). */
  static long blockLinearParameters(ModelIr model) {
    long n = 0;
    for (Block b : model.blocks()) {
      n += b.qkv().parameterCount() + b.attnOut().parameterCount() + b.up().parameterCount() + b.down().parameterCount()
          + (b.gate() == null ? 0 : b.gate().parameterCount());
    }
    return n;
  }

  private static ModelIr replaceBlock(ModelIr model, int layer, Block block) {
    List<Block> blocks = new ArrayList<>(model.blocks());
    blocks.set(layer, block);
    return new ModelIr(model.config(), model.tokenEmbedding(), model.positionEmbedding(), blocks, model.finalNorm(),
        model.head());
  }
}
