package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.ModelConfig;
import java.util.List;
import org.junit.jupiter.api.Test;

class KronPlanTest {
  static final ModelConfig GPT2_SMALL = new ModelConfig(Family.GPT2, 50257, 768, 3072, 12, 12, 12, 64, 1024, 1e-5f, 0,
      true, "gelu_new");
  static final ModelConfig GPT2_FIXTURE = new ModelConfig(Family.GPT2, 50257, 256, 1024, 4, 4, 4, 64, 256, 1e-5f, 0,
      true, "gelu_new");
  static final ModelConfig STORIES_260K = new ModelConfig(Family.LLAMA, 512, 64, 172, 5, 8, 4, 8, 512, 1e-5f, 10000,
      true, "silu");

  /** Parameters of a dense model of this configuration, counted independently of the IR. */
  static long denseCount(ModelConfig c) {
    long d = c.hiddenSize();
    long inner = c.intermediateSize();
    long qkv = (long) c.queryWidth() + 2L * c.kvWidth();
    long perBlock;
    long fixed = (long) c.vocabSize() * d;
    if (c.family() == Family.GPT2) {
      perBlock = d * qkv + qkv + c.queryWidth() * d + d + d * inner + inner + inner * d + d + 4 * d;
      fixed += (long) c.contextLength() * d + 2 * d;
    } else {
      perBlock = d * qkv + c.queryWidth() * d + 3 * d * inner + 2 * d;
      fixed += d;
    }
    return fixed + c.numLayers() * perBlock + (c.tiedEmbeddings() ? 0 : (long) c.vocabSize() * d);
  }

  @Test
  void tqGpt2_onGpt2Small_keeps80368970Parameters() {
    long base = denseCount(GPT2_SMALL);
    assertEquals(124_439_808L, base);
    KronPlan plan = KronPlan.of(GPT2_SMALL, base, KronOptions.DEFAULTS.withPreset(KronPreset.TQ_GPT2));

    assertEquals(80_368_970L, plan.parameterCount());
    assertEquals(1 + 12 * 3 + 6 * 2, plan.entries().size());
    KronPlan.Entry embedding = plan.entries().get(0);
    assertEquals(new KronShape(50257, 384, 1, 2, 1), embedding.shape());
    assertEquals(19_298_686L, embedding.shape().denseParameterCount() - embedding.shape().parameterCount());
    long mlpSaved = 0;
    long qkvSaved = 0;
    for (KronPlan.Entry e : plan.entries()) {
      long saved = e.shape().denseParameterCount() - e.shape().parameterCount();
      switch (e.kind()) {
        case MLP_UP -> {
          assertEquals(new KronShape(384, 768, 2, 4, 4), e.shape());
          mlpSaved += saved;
        }
        case MLP_DOWN -> {
          assertEquals(new KronShape(768, 384, 4, 2, 4), e.shape());
          mlpSaved += saved;
        }
        case ATTN_QKV -> {
          assertEquals(new KronShape(384, 768, 2, 1, 1), e.shape());
          qkvSaved += saved;
        }
        default -> assertEquals(KronPlan.Kind.EMBEDDING, e.kind());
      }
      if (e.kind() == KronPlan.Kind.MLP_UP || e.kind() == KronPlan.Kind.MLP_DOWN) {
        assertEquals(1, Integer.parseInt(e.layer().split("\\.")[1]) % 2, "MLP in odd blocks only");
      }
    }
    assertEquals(14_155_392L, mlpSaved);
    assertEquals(10_616_760L, qkvSaved);
  }

  @Test
  void auto_onGpt2Small_choosesTheTqLayout() {
    long base = denseCount(GPT2_SMALL);
    KronPlan tq = KronPlan.of(GPT2_SMALL, base, KronOptions.DEFAULTS.withPreset(KronPreset.TQ_GPT2));
    KronPlan auto = KronPlan.of(GPT2_SMALL, base, KronOptions.DEFAULTS.withPreset(KronPreset.AUTO));
    assertEquals(tq.entries(), auto.entries());
  }

  @Test
  void auto_meetsTheTargetRatioOnOtherShapes() {
    for (ModelConfig c : List.of(GPT2_FIXTURE, STORIES_260K)) {
      for (double target : new double[] {0.5, 0.65, 0.8}) {
        KronPlan plan = KronPlan.of(c, denseCount(c), KronOptions.DEFAULTS.withPreset(KronPreset.AUTO).withTargetRatio(target));
        assertEquals(target, plan.ratio(), 0.03, c.family() + " at " + target + ": " + plan.notes());
        assertTrue(plan.entries().stream().anyMatch(e -> e.kind() == KronPlan.Kind.MLP_UP), "factors the MLP");
        assertTrue(plan.entries().stream().anyMatch(e -> e.kind() == KronPlan.Kind.ATTN_QKV), "factors attention");
        for (KronPlan.Entry e : plan.entries()) {
          assertEquals(e.columnTo() - e.columnFrom(), e.shape().out());
        }
      }
    }
  }

  @Test
  void auto_onGpt2Fixture_scalesThePresetShapes() {
    KronPlan plan = KronPlan.of(GPT2_FIXTURE, denseCount(GPT2_FIXTURE), KronOptions.DEFAULTS.withPreset(KronPreset.AUTO));
    KronPlan.Entry up = plan.entries().stream().filter(e -> e.kind() == KronPlan.Kind.MLP_UP).findFirst().orElseThrow();
    assertEquals(2, up.shape().m2());
    assertEquals(4, up.shape().n2());
    KronPlan.Entry embedding = plan.entries().get(0);
    assertEquals(1, embedding.shape().m2());
  }
}
