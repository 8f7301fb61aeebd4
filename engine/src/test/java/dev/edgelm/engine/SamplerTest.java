package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.OptionalLong;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SamplerTest {
  private static final float[] FOUR = logits(0.5, 0.3, 0.15, 0.05);

  /** Logits whose softmax is the given distribution. */
  private static float[] logits(double... probs) {
    float[] l = new float[probs.length];
    for (int i = 0; i < l.length; i++) {
      l[i] = (float) Math.log(probs[i]);
    }
    return l;
  }

  private static Set<Integer> drawn(SamplingOptions options, float[] logits, int draws) {
    Sampler s = new Sampler(options);
    Set<Integer> ids = new HashSet<>();
    for (int i = 0; i < draws; i++) {
      ids.add(s.sample(logits).id());
    }
    return ids;
  }

  @Test
  void sample_greedy_picksArgmaxLowestIdOnTies() {
    Sampler s = new Sampler(SamplingOptions.DEFAULTS);
    assertEquals(2, s.sample(new float[] {1f, 3f, 5f, 2f}).id());
    assertEquals(1, s.sample(new float[] {1f, 5f, 5f, 2f}).id());
  }

  @Test
  void sample_topK_keepsOnlyTheKMostLikely() {
    SamplingOptions o = SamplingOptions.DEFAULTS.withTemperature(1f).withTopK(2).withSeed(7);
    assertEquals(Set.of(0, 1), drawn(o, FOUR, 2000));
  }

  @Test
  void sample_topP_keepsSmallestSetReachingP() {
    SamplingOptions o = SamplingOptions.DEFAULTS.withTemperature(1f).withTopP(0.75f).withSeed(7);
    assertEquals(Set.of(0, 1), drawn(o, FOUR, 2000));
    assertEquals(Set.of(0), drawn(o.withTopP(0.4f), FOUR, 200));
    assertEquals(Set.of(0, 1, 2), drawn(o.withTopP(0.9f), FOUR, 4000));
  }

  @Test
  void sample_topPOnFlatDistribution_widensBeyondFirstLook() {
    float[] flat = new float[1000];
    SamplingOptions o = SamplingOptions.DEFAULTS.withTemperature(1f).withTopP(0.5f).withSeed(3);
    Set<Integer> ids = drawn(o, flat, 5000);
    assertTrue(ids.stream().allMatch(id -> id < 500), "ties keep the lower ids: " + ids);
    assertTrue(ids.stream().anyMatch(id -> id >= 400), "the nucleus holds 500 tokens, not the first 64");
  }

  @Test
  void sample_topKThenTopP_appliesPOverWhatKKept() {
    // Top-2 renormalised: 0.625, 0.375; p = 0.6 keeps only the first.
    SamplingOptions o = SamplingOptions.DEFAULTS.withTemperature(1f).withTopK(2).withTopP(0.6f).withSeed(1);
    assertEquals(Set.of(0), drawn(o, FOUR, 500));
  }

  @Test
  void sample_temperatureOne_followsTheDistribution() {
    Sampler s = new Sampler(SamplingOptions.DEFAULTS.withTemperature(1f).withSeed(11));
    float[] l = logits(0.25, 0.75);
    int ones = 0;
    int n = 20000;
    for (int i = 0; i < n; i++) {
      ones += s.sample(l).id();
    }
    assertEquals(0.75, ones / (double) n, 0.02);
  }

  @Test
  void sample_temperatureToZero_becomesGreedy() {
    Sampler s = new Sampler(SamplingOptions.DEFAULTS.withTemperature(1e-3f).withSeed(5));
    float[] l = {0.1f, 0.6f, 0.4f, 0.5f};
    for (int i = 0; i < 1000; i++) {
      assertEquals(1, s.sample(l).id());
    }
  }

  @Test
  void sample_sameSeed_sameTokens() {
    SamplingOptions o = SamplingOptions.DEFAULTS.withTemperature(0.9f).withTopK(3).withTopP(0.95f).withSeed(42);
    int[] a = new int[200];
    int[] b = new int[200];
    int[] c = new int[200];
    Sampler sa = new Sampler(o);
    Sampler sb = new Sampler(o);
    Sampler sc = new Sampler(o.withSeed(43));
    for (int i = 0; i < a.length; i++) {
      a[i] = sa.sample(FOUR).id();
      b[i] = sb.sample(FOUR).id();
      c[i] = sc.sample(FOUR).id();
    }
    assertArrayEquals(a, b);
    assertFalse(Arrays.equals(a, c));
  }

  @Test
  void sample_repetitionPenalty_dividesPositiveAndMultipliesNegative() {
    SamplingOptions o = SamplingOptions.DEFAULTS.withRepetitionPenalty(2f);
    Sampler positive = new Sampler(o);
    positive.observe(0);
    // 2.0 / 2 = 1.0 < 1.5
    assertEquals(1, positive.sample(new float[] {2f, 1.5f}).id());
    assertEquals(0, positive.sample(new float[] {3.1f, 1.5f}).id());

    Sampler negative = new Sampler(o);
    negative.observe(new int[] {0});
    // -1.0 * 2 = -2.0 < -1.5
    assertEquals(1, negative.sample(new float[] {-1f, -1.5f}).id());
    assertEquals(0, negative.sample(new float[] {-0.7f, -1.5f}).id());

    Sampler none = new Sampler(SamplingOptions.DEFAULTS);
    none.observe(0);
    assertEquals(0, none.sample(new float[] {2f, 1.5f}).id());
  }

  @Test
  void sample_logprobsAreUnderRawDistribution() {
    Sampler s = new Sampler(SamplingOptions.DEFAULTS.withRepetitionPenalty(4f).withTopLogprobs(2));
    s.observe(0);
    SampledToken t = s.sample(logits(0.5, 0.3, 0.2));
    assertEquals(1, t.id());
    assertEquals(Math.log(0.3), t.logprob(), 1e-6);
    assertEquals(2, t.top().size());
    assertEquals(0, t.top().get(0).id());
    assertEquals(Math.log(0.5), t.top().get(0).logprob(), 1e-6);
    assertEquals(1, t.top().get(1).id());
  }

  @Test
  void topIndices_ordersByValueThenId() {
    float[] x = {3f, 1f, 3f, 7f, -2f, 1f};
    assertArrayEquals(new int[] {3, 0, 2, 1}, Sampler.topIndices(x, 4));
    assertArrayEquals(new int[] {3, 0, 2, 1, 5, 4}, Sampler.topIndices(x, 6));
  }

  @Test
  void options_outOfRange_throwInvalidRequest() {
    SamplingOptions d = SamplingOptions.DEFAULTS;
    assertThrows(InvalidRequestException.class, () -> d.withTemperature(-0.1f));
    assertThrows(InvalidRequestException.class, () -> d.withTemperature(Float.NaN));
    assertThrows(InvalidRequestException.class, () -> d.withTopK(-1));
    assertThrows(InvalidRequestException.class, () -> d.withTopP(0f));
    assertThrows(InvalidRequestException.class, () -> d.withTopP(1.01f));
    assertThrows(InvalidRequestException.class, () -> d.withRepetitionPenalty(0f));
    assertThrows(InvalidRequestException.class, () -> d.withTopLogprobs(21));
    assertTrue(new SamplingOptions(0f, 0, 1f, 1f, null, 0).seed().equals(OptionalLong.empty()));
  }

  @Test
  void sample_withoutLogprobs_choosesTheSameTokens_andReportsNoProbabilities() {
    float[] logits = logits(0.1, 0.2, 0.4, 0.3);
    SamplingOptions on = SamplingOptions.DEFAULTS.withTemperature(1f).withSeed(3);
    SamplingOptions off = on.withLogprobs(false);
    Sampler a = new Sampler(on);
    Sampler b = new Sampler(off);
    for (int i = 0; i < 50; i++) {
      SampledToken x = a.sample(logits);
      SampledToken y = b.sample(logits);
      assertEquals(x.id(), y.id(), "draw " + i);
      assertEquals(Math.log(new double[] {0.1, 0.2, 0.4, 0.3}[x.id()]), x.logprob(), 1e-5);
      assertTrue(Float.isNaN(y.logprob()) && y.top().isEmpty(), "draw " + i + ": " + y);
    }
    assertTrue(Float.isNaN(new Sampler(SamplingOptions.DEFAULTS.withLogprobs(false)).sample(logits).logprob()));
    assertTrue(SamplingOptions.DEFAULTS.logprobs(), "the defaults compute log-probabilities, as before");
    assertTrue(SamplingOptions.DEFAULTS.withLogprobs(false).withTopLogprobs(2).logprobs(), "asking for alternatives turns them on");
    assertThrows(InvalidRequestException.class, () -> new SamplingOptions(0f, 0, 1f, 1f, null, 2, false));
  }
}
