package dev.edgelm.compressor.prune;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.prune.PruneOptions.HeadGroup;
import java.util.Locale;

/**
 * How many head groups and FFN groups each layer keeps ("uniform": every layer loses the same
 * number). With {@code both}, attention loses the target share of its parameters first, in whole head
 * groups, and the FFN blocks take the rest of the goal, so the total lands near the target even when
 * heads are coarse (gpt2-fixture's 4 heads are 25 % each). Every layer keeps one group of each kind.
 *
 * @param headKeep per layer, head groups kept ({@link HeadGroups#count()} when heads are not pruned)
 * @param ffnKeep per layer, FFN groups kept
 */
record Budget(int[] headKeep, int[] ffnKeep) {
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
    return new Budget(headKeep, ffnKeep);
  }
}
