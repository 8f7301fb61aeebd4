package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.edgelm.engine.testing.FakeTokenizer;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class ScoringPlanTest {
  @Test
  void slidingWindow_referenceSizes_scoreEveryTargetExactlyOnce() {
    int n = 145_429;
    int window = 256;
    int stride = 128;
    ScoringPlan plan = ScoringPlan.slidingWindow(IntStream.range(0, n).toArray(), window, stride);
    assertEquals(145_428, plan.scoredTokens());

    int[] timesScored = new int[n];
    List<ScoringWindow> windows = plan.windows();
    for (int k = 0; k < windows.size(); k++) {
      ScoringWindow w = windows.get(k);
      int begin = w.tokens()[0]; // tokens are their own global indices
      assertEquals(k * stride, begin, "window " + k + " starts at k*S");
      assertEquals(Math.min(begin + window, n) - begin, w.tokens().length);
      for (int p = w.firstTarget(); p < w.tokens().length; p++) {
        timesScored[w.tokens()[p]]++;
      }
    }
    assertEquals(0, timesScored[0], "the first token has no context");
    for (int i = 1; i < n; i++) {
      assertEquals(1, timesScored[i], "target " + i);
    }
    ScoringWindow last = windows.get(windows.size() - 1);
    assertEquals(n - 1, last.tokens()[last.tokens().length - 1], "the last window ends at the end of the text");
    assertEquals(1136, windows.size());
  }

  @Test
  void slidingWindow_smallExample() {
    ScoringPlan plan = ScoringPlan.slidingWindow(IntStream.range(0, 10).toArray(), 4, 2);
    List<ScoringWindow> w = plan.windows();
    assertEquals(4, w.size());
    assertArrayEquals(new int[] {0, 1, 2, 3}, w.get(0).tokens());
    assertEquals(1, w.get(0).firstTarget());
    assertArrayEquals(new int[] {2, 3, 4, 5}, w.get(1).tokens());
    assertEquals(2, w.get(1).firstTarget());
    assertArrayEquals(new int[] {6, 7, 8, 9}, w.get(3).tokens());
    assertEquals(2, w.get(3).firstTarget());
    assertEquals(9, plan.scoredTokens());
  }

  @Test
  void slidingWindow_textShorterThanWindow_oneWindow() {
    ScoringPlan plan = ScoringPlan.slidingWindow(new int[] {5, 6, 7}, 256, 128);
    assertEquals(1, plan.windows().size());
    assertEquals(2, plan.scoredTokens());
    assertEquals(0, ScoringPlan.slidingWindow(new int[] {5}, 256, 128).windows().size());
  }

  @Test
  void slidingWindow_strideEqualToWindow_cannotScoreEachWindowsFirstToken() {
    ScoringPlan plan = ScoringPlan.slidingWindow(IntStream.range(0, 12).toArray(), 4, 4);
    assertEquals(3, plan.windows().size());
    assertEquals(9, plan.scoredTokens(), "as in Hugging Face's guide: the first token of a window has no context");
  }

  @Test
  void slidingWindow_badSizes_rejected() {
    int[] tokens = new int[10];
    assertThrows(InvalidRequestException.class, () -> ScoringPlan.slidingWindow(tokens, 1, 1));
    assertThrows(InvalidRequestException.class, () -> ScoringPlan.slidingWindow(tokens, 4, 0));
    assertThrows(InvalidRequestException.class, () -> ScoringPlan.slidingWindow(tokens, 4, 5));
  }

  @Test
  void perDocument_splitsStripsDropsEmptyAndTruncates() {
    FakeTokenizer tok = FakeTokenizer.of("a", "b", " ", "\n", "|");
    int bos = tok.bosId().getAsInt();
    String text = " a b |\n|  |ab b a b a b";
    ScoringPlan plan = ScoringPlan.perDocument(tok, text, "|", 5);
    List<ScoringWindow> w = plan.windows();
    assertEquals(2, w.size());
    assertArrayEquals(new int[] {bos, tok.id("a"), tok.id(" "), tok.id("b")}, w.get(0).tokens());
    assertEquals(1, w.get(0).firstTarget());
    assertArrayEquals(new int[] {bos, tok.id("a"), tok.id("b"), tok.id(" "), tok.id("b")}, w.get(1).tokens(), "truncated to 5");
    assertEquals(3 + 4, plan.scoredTokens());
  }
}
