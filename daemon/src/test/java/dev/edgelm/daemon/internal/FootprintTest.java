package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.daemon.testing.Hosts;
import dev.edgelm.daemon.testing.Releases;
import dev.edgelm.hub.Release;
import org.junit.jupiter.api.Test;

/** The one memory formula: what the cache weighs, what selection requires, and the effective context. */
class FootprintTest {
  @Test
  void kvBytes_isBytesPerTokenTimesContextTimesStreamsTimesRows() {
    Footprint f = new Footprint(1_000, 10, 64, 3, 2, 0);
    assertEquals(10L * 64 * 3 * 2, f.kvBytes());
    assertEquals(1_000 + 10L * 64 * 3 * 2, f.budgetedBytes());
    assertEquals(10L * 64 * 3, Footprint.of(1_000, 10, 64, 3).kvBytes(), "one row per stream until batching sizes a KV pool");
  }

  @Test
  void requiredBytes_addsFixedOverheadAndTenPercentOfTheWeights_budgetedBytesDoNot() {
    Footprint f = Footprint.of(500_000, 100, 128, 2).withOverhead(64_000);
    assertEquals(64_000 + 50_000, f.overheadBytes());
    assertEquals(500_000 + 100L * 128 * 2, f.budgetedBytes(), "what counts against cache.memory_budget: weights + KV");
    assertEquals(f.budgetedBytes() + 114_000, f.requiredBytes(), "what selection demands: budgeted + overhead");
  }

  @Test
  void effectiveContext_capsTheModelsContext_andFallsBackWhenTheModelStatesNone() {
    assertEquals(64, Footprint.effectiveContext(64, 512), "generation.max_context caps");
    assertEquals(512, Footprint.effectiveContext(4096, 512), "a cap above the model's context changes nothing");
    assertEquals(512, Footprint.effectiveContext(0, 512), "no cap: the model's own");
    assertEquals(64, Footprint.effectiveContext(64, 0), "unknown context: the cap");
    assertEquals(SelectionPolicy.ASSUMED_CONTEXT, Footprint.effectiveContext(0, 0), "neither: the assumed context");
  }

  @Test
  void outOfRange_isRefused() {
    assertThrows(IllegalArgumentException.class, () -> new Footprint(-1, 0, 1, 1, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new Footprint(1, 0, 1, 0, 1, 0));
    assertThrows(IllegalArgumentException.class, () -> new Footprint(1, 0, 1, 1, 0, 0));
  }

  @Test
  void selector_reportsTheFootprintsRequiredBytes_forEveryVariant() {
    Release release = Releases.gpt2Small();
    SelectionPolicy policy = SelectionPolicy.DEFAULTS.withConcurrency(2).withContextTokens(512);
    Selection s = VariantSelector.create(VariantSelector.Options.INDEX_ONLY).select(release, Hosts.x86(Hosts.AVX512_VNNI).build(), policy);
    int compared = 0;
    for (Selection.Verdict v : s.verdicts()) {
      dev.edgelm.hub.VariantEntry e = release.variant(v.id()).orElseThrow();
      Footprint f = Footprint.of(e.weightBytes(), e.kvCacheBytesPerToken(), Footprint.effectiveContext(512, 1024), 2)
          .withOverhead(policy.memoryOverheadBytes());
      if (v.memoryRequiredBytes() > 0) {
        assertEquals(f.requiredBytes(), v.memoryRequiredBytes(), v.id());
        compared++;
      }
    }
    assertEquals(s.verdicts().size(), compared, "every variant's need was computed: " + s.verdicts());
  }
}
