package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.ActivationStats;
import dev.edgelm.compressor.calib.Calibration;
import dev.edgelm.compressor.calib.Calibrator;
import dev.edgelm.compressor.calib.Statistic;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.prune.PruneOptions.Criterion;
import dev.edgelm.proto.v1.CalibrationSource;
import dev.edgelm.proto.v1.LayerPrune;
import dev.edgelm.proto.v1.MatrixError;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.PruneParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.StepErrors;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Structured pruning of FFN channel blocks: the {@code prune} step of a chain.
 *
 * <p>Design. A group is {@code ffnBlock} consecutive FFN channels: their columns of {@code up} (and
 * {@code gate}), their bias entries, their rows of {@code down}. Removing one removes them all, so the
 * layer becomes physically narrower (the IR, the ONNX graph and the descriptor carry per-layer widths)
 * rather than holding zeros. Layers are pruned in order; each is calibrated on the outputs of the
 * already-pruned prefix (ONNX Runtime, the graph cut after that layer's {@code down} input), so later
 * layers see and can absorb the earlier error. The consumer's problem is posed on
 * G = H̃ᵀH̃ / N with H̃ = [H, 1] the input of {@code down} and a constant column (the intercept; its row
 * of W is the bias), damped by 1 % of the mean diagonal. Groups are chosen by {@link GroupLasso}
 * (or magnitude, or FLAP's fluctuation); the survivors are then refit by least squares with the
 * intercept ({@link GroupLasso#refit}: the structured OBS update; the intercept is bias compensation).
 *
 * <p>Budget: every layer loses the same number of groups ("uniform" in the descriptor); the
 * parameter count removed is the target ratio of the blocks' linear parameters rounded to whole groups
 * per layer. Each layer keeps at least one group.
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
    Plan plan = Plan.of(model, options);
    ModelIr current = model;
    List<LayerPrune> layers = new ArrayList<>();
    List<MatrixError> errors = new ArrayList<>();
    for (int l = 0; l < model.blocks().size(); l++) {
      String down = ModelIr.layerName(l, "mlp.down");
      Calibration calibration = Calibrator.collect(current, context.calibrationText(), EnumSet.of(Statistic.GRAM),
          context.calibration(), context.progress(), down::equals);
      Layer result = pruneLayer(current.blocks().get(l), l, calibration.of(down), plan.keep(l), options);
      current = replaceBlock(current, l, result.block());
      layers.add(result.record());
      errors.add(MatrixError.newBuilder().setName(down).setWeightError(result.weightError())
          .setOutputError(result.record().getReconstructionError()).build());
      context.progress().accept(String.format(Locale.ROOT, "prune: layer %d keeps %d of %d FFN channels, output error %.4f",
          l, result.record().getFfnChannelsKept(), result.record().getFfnChannelsBefore(),
          result.record().getReconstructionError()));
    }
    long before = blockLinearParameters(model);
    long after = blockLinearParameters(current);
    double removed = 1 - (double) after / before;
    PruneParams.Builder p = PruneParams.newBuilder().setTargetRatio(options.targetRatio())
        .setGranularity(options.granularity().id()).setFfnBlock(options.ffnBlock()).setCriterion(options.criterion().id())
        .setReweight(options.criterion() == Criterion.LASSO && options.reweight()).setRefit(options.refit())
        .setRemovedRatio(removed).setAllocation("uniform").addAllLayers(layers);
    StepErrors.Builder e = StepErrors.newBuilder().addAllMatrices(errors);
    double sum = 0;
    double max = 0;
    double out = 0;
    for (MatrixError m : errors) {
      sum += m.getWeightError();
      max = Math.max(max, m.getWeightError());
      out += m.getOutputError();
    }
    e.setMeanWeightError(sum / errors.size()).setMaxWeightError(max).setMeanOutputError(out / errors.size());
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
        .putParams("scope", "blocks' linear parameters; embeddings and head excluded")
        .putParams("calibration_digest", text.digest());
    String summary = String.format(Locale.ROOT,
        "removed %.1f %% of the blocks' linear parameters (embeddings and head excluded), FFN widths %s", 100 * removed,
        java.util.Arrays.toString(current.ffnWidths()));
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

  /** How many groups each layer keeps. */
  record Plan(int[] keepGroups) {
    int keep(int layer) {
      return keepGroups[layer];
    }

    static Plan of(ModelIr model, PruneOptions options) {
      long total = blockLinearParameters(model);
      double goal = options.targetRatio() * total;
      int layers = model.blocks().size();
      int[] keep = new int[layers];
      long perChannelAll = 0;
      int channelsAll = 0;
      for (int l = 0; l < layers; l++) {
        Block b = model.blocks().get(l);
        channelsAll += b.up().outFeatures();
        perChannelAll += (long) b.up().outFeatures() * perChannel(b);
      }
      double perChannel = (double) perChannelAll / channelsAll;
      // The same number of groups off every layer (widths are equal before pruning).
      for (int l = 0; l < layers; l++) {
        Block b = model.blocks().get(l);
        int width = b.up().outFeatures();
        int groups = groupCount(width, options.ffnBlock());
        if (groups < 2) {
          throw new UsageException("--ffn-block " + options.ffnBlock() + " leaves layer " + l + " (" + width
              + " FFN channels) one group, which pruning cannot remove; use a smaller --ffn-block");
        }
        int remove = (int) Math.round(goal / layers / (perChannel * options.ffnBlock()));
        if (remove >= groups) {
          double most = (double) (groups - 1) * options.ffnBlock() * perChannel * layers / total;
          throw new UsageException(String.format(Locale.ROOT, "--target-ratio %s needs more than the FFN blocks hold;"
              + " with --granularity ffn it can be at most %.2f for this model", options.targetRatio(), most));
        }
        if (remove < 1) {
          throw new UsageException(String.format(Locale.ROOT, "--target-ratio %s removes less than one group of %d FFN"
              + " channels per layer; raise it or use a smaller --ffn-block", options.targetRatio(), options.ffnBlock()));
        }
        keep[l] = groups - remove;
      }
      return new Plan(keep);
    }
  }

  static int groupCount(int width, int block) {
    return (width + block - 1) / block;
  }

  /** Parameters one FFN channel holds in {@code b}: up (and gate) column and bias, down row. */
  static long perChannel(Block b) {
    int d = b.up().inFeatures();
    long n = d + (b.up().bias() == null ? 0 : 1) + d;
    if (b.gate() != null) {
      n += d + (b.gate().bias() == null ? 0 : 1);
    }
    return n;
  }

  /** One layer's result. */
  record Layer(Block block, LayerPrune record, double weightError) {}

  /** Chooses and removes the groups of one block's FFN; refits {@code down} (with an intercept) if asked. */
  static Layer pruneLayer(Block b, int layer, ActivationStats stats, int keepGroups, PruneOptions options) {
    int f = b.up().outFeatures();
    int m = b.down().outFeatures();
    int n = f + 1;
    Problem problem = Problem.of(stats, b.down());
    int[][] groups = new int[groupCount(f, options.ffnBlock())][];
    for (int g = 0; g < groups.length; g++) {
      groups[g] = new int[] {g * options.ffnBlock(), Math.min(f, (g + 1) * options.ffnBlock())};
    }
    GroupLasso solver = new GroupLasso(problem.damped(), problem.target(), n, m, groups);
    boolean[] kept;
    double lambda = 0;
    int rounds = 0;
    double[] lassoWeights = null;
    switch (options.criterion()) {
      case LASSO -> {
        GroupLasso.Solution s = solver.solve(keepGroups, options.reweight(), GroupLasso.DEFAULT_ITERATIONS,
            GroupLasso.DEFAULT_BISECTIONS);
        kept = s.kept();
        lambda = s.lambda();
        rounds = s.rounds();
        lassoWeights = s.weights();
      }
      case MAGNITUDE -> kept = top(magnitudeScores(b, groups), keepGroups);
      case FLUCTUATION -> kept = top(fluctuationScores(problem, groups, m), keepGroups);
      default -> throw new IllegalStateException();
    }
    List<Integer> rows = new ArrayList<>();
    List<Integer> keptGroups = new ArrayList<>();
    for (int g = 0; g < groups.length; g++) {
      if (kept[g]) {
        keptGroups.add(g);
        for (int r = groups[g][0]; r < groups[g][1]; r++) {
          rows.add(r);
        }
      }
    }
    // Without the refit the survivors keep their weights (lasso's shrunk values would only be worse);
    // fluctuation compensates the bias with the removed channels' means (FLAP).
    double[] plain = new double[n * m];
    for (int r : rows) {
      System.arraycopy(problem.target(), r * m, plain, r * m, m);
    }
    System.arraycopy(problem.target(), f * m, plain, f * m, m);
    if (options.criterion() == Criterion.FLUCTUATION) {
      double[] mean = problem.means();
      boolean[] keptRow = new boolean[f];
      rows.forEach(r -> keptRow[r] = true);
      for (int r = 0; r < f; r++) {
        if (!keptRow[r]) {
          for (int j = 0; j < m; j++) {
            plain[f * m + j] += mean[r] * problem.target()[r * m + j];
          }
        }
      }
    }
    int[] support = new int[rows.size() + 1];
    for (int i = 0; i < rows.size(); i++) {
      support[i] = rows.get(i);
    }
    support[rows.size()] = f;
    double[] chosen = options.refit() ? solver.refit(support) : plain;
    double baseEnergy = GroupLasso.quadratic(problem.gram(), problem.target(), new double[n * m], n, m);
    double errorBefore = Math.sqrt(GroupLasso.quadratic(problem.gram(), problem.target(), plain, n, m) / baseEnergy);
    double errorAfter = Math.sqrt(GroupLasso.quadratic(problem.gram(), problem.target(), chosen, n, m) / baseEnergy);
    Block pruned = narrowed(b, rows, chosen, m, f);
    double weightError = relativeWeightError(problem.target(), chosen, f, m);
    LayerPrune record = LayerPrune.newBuilder().setLayer(layer).setFfnChannelsBefore(f).setFfnChannelsKept(rows.size())
        .addAllKeptFfnGroups(keptGroups).setLambda(lambda).setRounds(rounds).setReconstructionError(errorAfter)
        .setReconstructionErrorBeforeRefit(errorBefore).build();
    return new Layer(pruned, record, weightError);
  }

  /** ‖W − W'‖ / ‖W‖ over down's weight rows (not the bias). */
  private static double relativeWeightError(double[] w, double[] x, int f, int m) {
    double num = 0;
    double den = 0;
    for (int i = 0; i < f * m; i++) {
      num += (w[i] - x[i]) * (w[i] - x[i]);
      den += w[i] * w[i];
    }
    return den == 0 ? 0 : Math.sqrt(num / den);
  }

  private static boolean[] top(double[] scores, int keep) {
    Integer[] order = new Integer[scores.length];
    for (int i = 0; i < order.length; i++) {
      order[i] = i;
    }
    java.util.Arrays.sort(order, (a, c) -> scores[a] != scores[c] ? Double.compare(scores[c], scores[a]) : Integer.compare(a, c));
    boolean[] kept = new boolean[scores.length];
    for (int i = 0; i < keep; i++) {
      kept[order[i]] = true;
    }
    return kept;
  }

  /** Squared norm of the group's weights: up (and gate) columns and down rows. */
  static double[] magnitudeScores(Block b, int[][] groups) {
    Tensor up = b.up().weight().toDense();
    Tensor down = b.down().weight().toDense();
    Tensor gate = b.gate() == null ? null : b.gate().weight().toDense();
    double[] s = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      for (int c = groups[g][0]; c < groups[g][1]; c++) {
        for (int i = 0; i < up.rows(); i++) {
          s[g] += sq(up.get(i, c)) + (gate == null ? 0 : sq(gate.get(i, c)));
        }
        for (int j = 0; j < down.cols(); j++) {
          s[g] += sq(down.get(c, j));
        }
      }
    }
    return s;
  }

  /** FLAP: Σ over the group's channels of Var(h_c)·‖down row c‖². */
  static double[] fluctuationScores(Problem p, int[][] groups, int m) {
    double[] mean = p.means();
    int n = p.n();
    double[] s = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      for (int c = groups[g][0]; c < groups[g][1]; c++) {
        double variance = Math.max(0, p.gram()[c * n + c] - mean[c] * mean[c]);
        double row = 0;
        for (int j = 0; j < m; j++) {
          row += sq(p.target()[c * m + j]);
        }
        s[g] += variance * row;
      }
    }
    return s;
  }

  private static double sq(double x) {
    return x * x;
  }

  /** The block with only {@code rows} of its FFN, down set from {@code w} (rows of kept channels, then the intercept). */
  private static Block narrowed(Block b, List<Integer> rows, double[] w, int m, int f) {
    int k = rows.size();
    float[] downW = new float[k * m];
    for (int i = 0; i < k; i++) {
      for (int j = 0; j < m; j++) {
        downW[i * m + j] = (float) w[rows.get(i) * m + j];
      }
    }
    float[] bias = new float[m];
    for (int j = 0; j < m; j++) {
      bias[j] = (float) w[f * m + j];
    }
    Linear down = Linear.dense(Tensor.of(downW, k, m), Tensor.of(bias, m));
    return new Block(b.attnNorm(), b.qkv(), b.attnOut(), b.mlpNorm(), columns(b.up(), rows), b.gate() == null ? null
        : columns(b.gate(), rows), down);
  }

  private static Linear columns(Linear l, List<Integer> cols) {
    Tensor w = l.weight().toDense();
    int in = w.rows();
    int k = cols.size();
    float[] out = new float[in * k];
    for (int i = 0; i < in; i++) {
      for (int c = 0; c < k; c++) {
        out[i * k + c] = w.get(i, cols.get(c));
      }
    }
    Tensor bias = null;
    if (l.bias() != null) {
      float[] bv = new float[k];
      for (int c = 0; c < k; c++) {
        bv[c] = l.bias().data()[cols.get(c)];
      }
      bias = Tensor.of(bv, k);
    }
    return Linear.dense(Tensor.of(out, in, k), bias);
  }

  private static ModelIr replaceBlock(ModelIr model, int layer, Block block) {
    List<Block> blocks = new ArrayList<>(model.blocks());
    blocks.set(layer, block);
    return new ModelIr(model.config(), model.tokenEmbedding(), model.positionEmbedding(), blocks, model.finalNorm(),
        model.head());
  }

  /**
   * One consumer's least-squares problem: G = H̃ᵀH̃/N (H̃ = [H, 1]) undamped and damped, and W̃ = [W; b].
   */
  record Problem(double[] gram, double[] damped, double[] target, int n) {
    static Problem of(ActivationStats s, Linear consumer) {
      int f = s.width();
      int n = f + 1;
      double rows = s.rows();
      double[] g = new double[n * n];
      for (int i = 0; i < f; i++) {
        for (int j = 0; j < f; j++) {
          g[i * n + j] = s.gram()[i * f + j] / rows;
        }
        g[i * n + f] = s.columnSums()[i] / rows;
        g[f * n + i] = s.columnSums()[i] / rows;
      }
      g[f * n + f] = 1;
      double diag = 0;
      for (int i = 0; i < f; i++) {
        diag += g[i * n + i];
      }
      double damping = DAMPING * diag / f;
      double[] damped = g.clone();
      for (int i = 0; i < n; i++) {
        damped[i * n + i] += damping;
      }
      Tensor w = consumer.weight().toDense();
      int m = w.cols();
      double[] t = new double[n * m];
      for (int i = 0; i < f * m; i++) {
        t[i] = w.data()[i];
      }
      if (consumer.bias() != null) {
        for (int j = 0; j < m; j++) {
          t[f * m + j] = consumer.bias().data()[j];
        }
      }
      return new Problem(g, damped, t, n);
    }

    /** E[h_c] per channel. */
    double[] means() {
      double[] mean = new double[n - 1];
      for (int i = 0; i < n - 1; i++) {
        mean[i] = gram[i * n + n - 1];
      }
      return mean;
    }
  }
}
