package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.Calibration;
import dev.edgelm.compressor.calib.Calibrator;
import dev.edgelm.compressor.calib.Statistic;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.prune.PruneOptions.HeadGroup;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.PriorityQueue;

/**
 * How many head groups and FFN groups each layer keeps. {@link #global}: one calibration pass on the
 * unpruned model gives every consumer's error curve ({@link ErrorCurves}); units are then removed
 * greedily, cheapest normalised loss per parameter first, across all layers and both kinds, until the
 * goal is met — so a layer with redundant channels gives more and a sensitive one less, and with
 * {@code both} the split between heads and FFN is measured rather than fixed. {@link #uniform}: every
 * layer loses the same number. With {@code both}, attention loses the target share of its parameters first, in whole head
 * groups, and the FFN blocks take the rest of the goal, so the total lands near the target even when
 * heads are coarse (gpt2-fixture's 4 heads are 25 % each). Every layer keeps one group of each kind.
 *
 * @param headKeep per layer, head groups kept ({@link HeadGroups#count()} when heads are not pruned)
 * @param ffnKeep per layer, FFN groups kept
 */
record Budget(int[] headKeep, int[] ffnKeep, String allocation) {
  /** One kind of group in one layer, as the global allocation sees it. */
  private record Curve(int layer, boolean heads, double[] loss, long paramsPerUnit, int groupsPerUnit, int maxUnits) {}

  static Budget global(ModelIr model, PruneOptions options, StepContext context) {
    Budget uniform = uniform(model, options); // validates the options against the model the same way
    int layers = model.blocks().size();
    int hd = model.config().headDim();
    Calibration c = Calibrator.collect(model, context.calibrationText(), EnumSet.of(Statistic.GRAM), context.calibration(),
        context.progress(), name -> name.endsWith(".attn.out") && options.granularity().heads()
            || name.endsWith(".mlp.down") && options.granularity().ffn());
    List<Curve> curves = new ArrayList<>();
    for (int l = 0; l < layers; l++) {
      Block b = model.blocks().get(l);
      if (options.granularity().heads()) {
        HeadGroups heads = new HeadGroups(b, hd, options.headGroup());
        Problem p = Problem.of(c.of(ModelIr.layerName(l, "attn.out")), b.attnOut());
        int[][] groups = heads.groups();
        double[] scores = GroupChoice.fluctuation(p, groups);
        int[][] units = heads.bins() == null ? ErrorCurves.singleUnits(scores) : ErrorCurves.binnedUnits(scores, heads.bins());
        int per = units[0].length;
        curves.add(new Curve(l, true, ErrorCurves.curve(p, groups, units), heads.perGroup(b) * per, per, units.length - 1));
      }
      if (options.granularity().ffn()) {
        int f = b.up().outFeatures();
        int[][] groups = FfnGroups.groups(f, options.ffnBlock());
        Problem p = Problem.of(c.of(ModelIr.layerName(l, "mlp.down")), b.down());
        int[][] units = ErrorCurves.singleUnits(GroupChoice.fluctuation(p, groups));
        curves.add(new Curve(l, false, ErrorCurves.curve(p, groups, units), FfnGroups.perChannel(b) * options.ffnBlock(), 1,
            units.length - 1));
      }
    }
    double goal = options.targetRatio() * Pruner.blockLinearParameters(model);
    int[] taken = new int[curves.size()];
    PriorityQueue<Integer> next = new PriorityQueue<>((a, b) -> Double.compare(marginal(curves.get(a), taken[a]),
        marginal(curves.get(b), taken[b])));
    for (int i = 0; i < curves.size(); i++) {
      if (curves.get(i).maxUnits() > 0) {
        next.add(i);
      }
    }
    double removed = 0;
    while (removed < goal && !next.isEmpty()) {
      int i = next.poll();
      Curve cv = curves.get(i);
      // Stop short rather than overshoot when the last unit lands farther from the goal than not taking it.
      if (removed + cv.paramsPerUnit() - goal > goal - removed) {
        break;
      }
      taken[i]++;
      removed += cv.paramsPerUnit();
      if (taken[i] < cv.maxUnits()) {
        next.add(i);
      }
    }
    int[] headKeep = uniform.headKeep().clone();
    int[] ffnKeep = uniform.ffnKeep().clone();
    for (int i = 0; i < curves.size(); i++) {
      Curve cv = curves.get(i);
      Block b = model.blocks().get(cv.layer());
      if (cv.heads()) {
        headKeep[cv.layer()] = new HeadGroups(b, hd, options.headGroup()).count() - taken[i] * cv.groupsPerUnit();
      } else {
        ffnKeep[cv.layer()] = FfnGroups.count(b.up().outFeatures(), options.ffnBlock()) - taken[i];
      }
    }
    return new Budget(headKeep, ffnKeep, "global");
  }

  private static double marginal(Curve c, int taken) {
    return (c.loss()[taken + 1] - c.loss()[taken]) / c.paramsPerUnit();
  }

  static Budget uniform(ModelIr model, PruneOptions options) {
    int layers = model.blocks().size();
    int hd = model.config().headDim();
    long total = Pruner.blockLinearParameters(model);
    double goal = options.targetRatio() * total;
    int[] headKeep = new int[layers];
    long headRemoved = 0;
    long attention = 0;
    for (Block b : model.blocks()) {
      attention += b.qkv().parameterCount() + b.attnOut().parameterCount();
    }
    for (int l = 0; l < layers; l++) {
      Block b = model.blocks().get(l);
      HeadGroups heads = new HeadGroups(b, hd, options.headGroup());
      headKeep[l] = heads.count();
      if (!options.granularity().heads()) {
        continue;
      }
      if (options.headGroup() == HeadGroup.QUERY && heads.perKv() < 2) {
        throw new UsageException("--head-group query needs several query heads per KV head, and layer " + l + " has "
            + heads.perKv() + "; use --head-group kv");
      }
      if (heads.count() < 2) {
        throw new UsageException("layer " + l + " has one head group, which pruning cannot remove; use --granularity ffn");
      }
      // Query heads come off every KV head alike, so a layer loses a multiple of its KV heads.
      int unit = options.headGroup() == HeadGroup.QUERY ? b.numKvHeads(hd) : 1;
      int most = heads.count() - unit;
      double share = options.granularity().ffn() ? (double) attention / total : 1;
      int remove = unit * (int) Math.round(goal * share / layers / (heads.perGroup(b) * unit));
      if (!options.granularity().ffn()) {
        if (remove < unit) {
          throw new UsageException(String.format(Locale.ROOT, "--target-ratio %s removes less than one head group per layer;"
              + " raise it or use --granularity ffn or both", options.targetRatio()));
        }
        if (remove > most) {
          double max = (double) most * heads.perGroup(b) * layers / total;
          throw new UsageException(String.format(Locale.ROOT, "--target-ratio %s needs more than the heads hold;"
              + " with --granularity heads it can be at most %.2f for this model", options.targetRatio(), max));
        }
      }
      remove = Math.max(0, Math.min(most, remove));
      headKeep[l] = heads.count() - remove;
      headRemoved += remove * heads.perGroup(b);
    }
    int[] ffnKeep = new int[layers];
    double ffnGoal = goal - headRemoved;
    long perChannelAll = 0;
    int channelsAll = 0;
    for (Block b : model.blocks()) {
      channelsAll += b.up().outFeatures();
      perChannelAll += (long) b.up().outFeatures() * FfnGroups.perChannel(b);
    }
    double perChannel = (double) perChannelAll / channelsAll;
    for (int l = 0; l < layers; l++) {
      Block b = model.blocks().get(l);
      int width = b.up().outFeatures();
      int groups = FfnGroups.count(width, options.ffnBlock());
      ffnKeep[l] = groups;
      if (!options.granularity().ffn()) {
        continue;
      }
      if (groups < 2) {
        throw new UsageException("--ffn-block " + options.ffnBlock() + " leaves layer " + l + " (" + width
            + " FFN channels) one group, which pruning cannot remove; use a smaller --ffn-block");
      }
      int remove = (int) Math.round(Math.max(0, ffnGoal) / layers / (perChannel * options.ffnBlock()));
      if (remove >= groups) {
        double most = ((double) (groups - 1) * options.ffnBlock() * perChannel * layers + headRemoved) / total;
        throw new UsageException(String.format(Locale.ROOT, "--target-ratio %s needs more than the FFN blocks hold;"
            + " with --granularity %s it can be at most %.2f for this model", options.targetRatio(), options.granularity().id(), most));
      }
      if (remove < 1 && !options.granularity().heads()) {
        throw new UsageException(String.format(Locale.ROOT, "--target-ratio %s removes less than one group of %d FFN"
            + " channels per layer; raise it or use a smaller --ffn-block", options.targetRatio(), options.ffnBlock()));
      }
      ffnKeep[l] = groups - remove;
    }
    return new Budget(headKeep, ffnKeep, "uniform");
  }
}
