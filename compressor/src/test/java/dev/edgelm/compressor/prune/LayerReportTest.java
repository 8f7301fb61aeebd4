package dev.edgelm.compressor.prune;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.proto.v1.KroneckerParams;
import dev.edgelm.proto.v1.LayerPrune;
import dev.edgelm.proto.v1.PruneParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.VariantDescriptor;
import org.junit.jupiter.api.Test;

class LayerReportTest {
  @Test
  void markdown_listsEveryPrunedLayer_andNothingForAnUnprunedVariant() {
    PruneParams p = PruneParams.newBuilder().setGranularity("both").setHeadGroup("kv").setCriterion("lasso").setReweight(true)
        .setRefit(true).setAllocation("global").setTargetRatio(0.3).setRemovedRatio(0.29)
        .addLayers(LayerPrune.newBuilder().setLayer(0).setHeadsBefore(8).setHeadsKept(6).setKvHeadsBefore(4).setKvHeadsKept(3)
            .setFfnChannelsBefore(172).setFfnChannelsKept(128).setReconstructionError(0.0123).setReconstructionErrorBeforeRefit(0.05))
        .addLayers(LayerPrune.newBuilder().setLayer(1).setHeadsBefore(8).setHeadsKept(8).setKvHeadsBefore(4).setKvHeadsKept(4)
            .setFfnChannelsBefore(172).setFfnChannelsKept(96))
        .build();
    VariantDescriptor pruned = VariantDescriptor.newBuilder().addChain(Step.newBuilder().setName("prune").setPrune(p))
        .addChain(Step.newBuilder().setName("int4")).build();
    String md = LayerReport.markdown("prune-int4", pruned);
    assertTrue(md.startsWith("### prune-int4: per layer"), md);
    assertTrue(md.contains("granularity both (head group kv), criterion lasso reweighted, refit yes, allocation global; removed 29.0 %"), md);
    assertTrue(md.contains("| 0 | 6 / 8 | 3 / 4 | 128 / 172 |"), md);
    assertTrue(md.contains("| 0.0123 (0.0500) |"), md);
    assertTrue(md.contains("| 1 | 8 / 8 | 4 / 4 | 96 / 172 |"), md);
    VariantDescriptor kron = VariantDescriptor.newBuilder()
        .addChain(Step.newBuilder().setName("kron").setKronecker(KroneckerParams.getDefaultInstance())).build();
    assertEquals("", LayerReport.markdown("kron", kron));
  }
}
