package dev.edgelm.compressor.prune;

import dev.edgelm.proto.v1.LayerPrune;
import dev.edgelm.proto.v1.PruneParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.util.Locale;

/**
 * What a pruned variant kept per layer, as Markdown, from its descriptor alone ({@code report
 * --layer-report}): heads and KV heads, FFN channels, the penalty and reweighting rounds, and each
 * consumer's relative reconstruction error before and after the refit.
 */
public final class LayerReport {
  private LayerReport() {}

  /** The section for {@code d}, or an empty string when no step of its chain pruned. */
  public static String markdown(String variant, VariantDescriptor d) {
    StringBuilder s = new StringBuilder();
    for (Step step : d.getChainList()) {
      if (!step.hasPrune()) {
        continue;
      }
      PruneParams p = step.getPrune();
      s.append(String.format(Locale.ROOT, "### %s: per layer%n%n", variant));
      s.append(String.format(Locale.ROOT, "granularity %s%s, criterion %s%s, refit %s, allocation %s; removed %.1f %% of the"
          + " blocks' linear parameters (target %.1f %%; embeddings and head excluded)%n%n", p.getGranularity(),
          p.getHeadGroup().isEmpty() ? "" : " (head group " + p.getHeadGroup() + ")", p.getCriterion(),
          p.getReweight() ? " reweighted" : "", p.getRefit() ? "yes" : "no", p.getAllocation(), 100 * p.getRemovedRatio(),
          100 * p.getTargetRatio()));
      s.append("| layer | heads | KV heads | FFN channels | attn.out error (before refit) | mlp.down error (before refit) | λ heads | λ FFN |\n");
      s.append("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
      for (LayerPrune l : p.getLayersList()) {
        s.append(String.format(Locale.ROOT, "| %d | %d / %d | %d / %d | %d / %d | %.4f (%.4f) | %.4f (%.4f) | %.3g | %.3g |%n",
            l.getLayer(), l.getHeadsKept(), l.getHeadsBefore(), l.getKvHeadsKept(), l.getKvHeadsBefore(), l.getFfnChannelsKept(),
            l.getFfnChannelsBefore(), l.getHeadReconstructionError(), l.getHeadReconstructionErrorBeforeRefit(),
            l.getReconstructionError(), l.getReconstructionErrorBeforeRefit(), l.getHeadLambda(), l.getLambda()));
      }
      s.append('\n');
    }
    return s.toString();
  }
}
