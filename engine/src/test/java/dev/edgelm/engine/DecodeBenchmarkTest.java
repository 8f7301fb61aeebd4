package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.FakeLanguageModel;
import dev.edgelm.engine.testing.FakeTokenizer;
import org.junit.jupiter.api.Test;

class DecodeBenchmarkTest {
  private final FakeLanguageModel model = FakeLanguageModel.saying(FakeTokenizer.of("a", "b", "c"), 32, 1, 2);

  @Test
  void run_prefillsThenDecodesEveryStepOfEveryRound() {
    DecodeBenchmark.Result r = DecodeBenchmark.run(model, new int[] {0, 1, 2}, 10, 3, 2);
    assertEquals(5 * (1 + 10), model.appendCalls(), "2 warm-up + 3 timed rounds of one prefill and 10 steps");
    assertEquals(0, model.openSequences(), "every round's sequence is closed");
    assertEquals(3, r.promptTokens());
    assertEquals(10, r.decodeTokens());
    assertTrue(r.decodeTokensPerSecond() > 0 && r.timeToFirstTokenMs() >= 0, r.toString());
  }

  @Test
  void run_stepsBeyondTheContext_areRefused() {
    InvalidRequestException e = assertThrows(InvalidRequestException.class, () -> DecodeBenchmark.run(model, new int[20], 13, 1, 0));
    assertTrue(e.getMessage().contains("32"), e.getMessage());
  }
}
