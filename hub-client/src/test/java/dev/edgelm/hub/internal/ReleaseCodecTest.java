package dev.edgelm.hub.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.MethodChains;
import dev.edgelm.proto.v1.KroneckerParams;
import dev.edgelm.proto.v1.QuantizationParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.StepErrors;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The chain of an index entry, parsed once into typed steps: the structured annotation and the old prose alike. */
class ReleaseCodecTest {
  private static final Reference REF = Reference.parse("registry.test:5000/models/m:stable");
  private static final String DIGEST = Digest.of("m".getBytes(StandardCharsets.UTF_8)).toString();

  private static VariantEntry entry(Map<String, String> annotations) {
    return ReleaseCodec.entryOf(REF, new Oci.Descriptor(HubFormat.OCI_MANIFEST, HubFormat.VARIANT_ARTIFACT_TYPE, DIGEST, 10,
        annotations));
  }

  @Test
  void entryOf_releaseWrittenBeforeChains_parsesTheProseParamsIntoTypedSteps() {
    VariantEntry e = entry(Map.of(HubFormat.VARIANT_ID, "int4-g32-gptq", HubFormat.METHOD, "int4", HubFormat.METHOD_PARAMS,
        "accuracy_level=4,algo=gptq,embedding=int4, one copy shared by the lookup and the tied head,group_size=32"));
    assertEquals(1, e.chain().size());
    QuantizationParams q = e.chain().get(0).getQuantization();
    assertEquals(4, q.getBits());
    assertEquals("gptq", q.getAlgo());
    assertEquals(32, q.getGroupSize());
    assertEquals(4, e.int4AccuracyLevel());

    VariantEntry kron = entry(Map.of(HubFormat.VARIANT_ID, "kron", HubFormat.METHOD, "kron", HubFormat.METHOD_PARAMS,
        "factored=3 matrices: a, b,mlp_rank=4,preset=tq-gpt2"));
    assertEquals("tq-gpt2", kron.chain().get(0).getKronecker().getPreset());
    assertEquals(4, kron.chain().get(0).getKronecker().getMlpRank());
    assertEquals(List.of(), entry(Map.of(HubFormat.VARIANT_ID, "fp32", HubFormat.METHOD, "fp32")).chain());
  }

  @Test
  void entryOf_structuredChain_isTheChainWithoutErrors() {
    List<Step> chain = List.of(
        Step.newBuilder().setName("kron").setKronecker(KroneckerParams.newBuilder().setPreset("auto").setTargetRatio(0.5))
            .setErrors(StepErrors.newBuilder().setMeanWeightError(0.4)).build(),
        Step.newBuilder().setName("int4").setQuantization(QuantizationParams.newBuilder().setBits(4).setGroupSize(64)
            .setAccuracyLevel(4)).build());
    String json = MethodChains.toAnnotation(chain);
    assertTrue(!json.contains("errors") && !json.contains(" "), json);
    VariantEntry e = entry(Map.of(HubFormat.VARIANT_ID, "kron-int4", HubFormat.METHOD, "kron,int4", HubFormat.CHAIN, json));
    assertEquals(List.of("kron", "int4"), e.chain().stream().map(Step::getName).toList());
    assertEquals(0.5, e.chain().get(0).getKronecker().getTargetRatio());
    assertEquals(64, e.chain().get(1).getQuantization().getGroupSize());
    assertEquals(4, e.int4AccuracyLevel());
  }

  @Test
  void entryOf_malformedChain_isAnInvalidRelease() {
    InvalidReleaseException ex = assertThrows(InvalidReleaseException.class,
        () -> entry(Map.of(HubFormat.VARIANT_ID, "x", HubFormat.CHAIN, "steps=int4")));
    assertTrue(ex.getMessage().contains("index annotation " + HubFormat.CHAIN + " of variant 'x' is not a method chain"), ex.getMessage());
  }
}
