package dev.edgelm.compressor.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

class ParetoFrontierTest {
  record P(String id, double size, double loss) {}

  private static List<String> frontier(P... points) {
    return ParetoFrontier.minimizing(List.of(points), P::size, P::loss).stream().map(P::id).toList();
  }

  @Test
  void minimizing_keepsOnlyPointsNoOtherBeatsOnBothCosts() {
    // fp32 is largest and best; int8 smaller and nearly as good; int4 smaller still; "bad" is larger
    // and worse than int8 (dominated); "tiny" is smallest and worst.
    assertEquals(List.of("tiny", "int4", "int8", "fp32"), frontier(
        new P("fp32", 100, 1.00), new P("bad", 60, 1.20), new P("int8", 30, 1.01),
        new P("int4", 16, 1.05), new P("tiny", 5, 1.50)));
  }

  @Test
  void minimizing_equalFirstCost_keepsTheBetterSecond() {
    assertEquals(List.of("good"), frontier(new P("worse", 10, 2.0), new P("good", 10, 1.0)));
  }

  @Test
  void minimizing_equalSecondCost_keepsTheSmaller() {
    assertEquals(List.of("small"), frontier(new P("big", 20, 1.0), new P("small", 10, 1.0)));
  }

  @Test
  void minimizing_identicalPoints_bothStay() {
    assertEquals(List.of("a", "b"), frontier(new P("a", 10, 1.0), new P("b", 10, 1.0), new P("c", 11, 1.0)));
  }

  @Test
  void minimizing_nonFiniteCosts_takeNoPart() {
    assertEquals(List.of("measured"), frontier(new P("unmeasured", 1, Double.NaN), new P("measured", 10, -50),
        new P("infinite", 0.5, Double.POSITIVE_INFINITY)));
  }

  @Test
  void minimizing_negatedBenefit_faster_and_smaller_wins() {
    // speed is a benefit: minimise -speed. "slowbig" is beaten by "fastsmall" on both.
    assertEquals(List.of("fastsmall", "fastest"), frontier(new P("slowbig", 50, -100), new P("fastsmall", 10, -300),
        new P("fastest", 40, -400)));
  }

  @Test
  void minimizing_empty_isEmpty() {
    assertEquals(List.of(), frontier());
  }
}
