package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.FakeTokenizer;
import dev.edgelm.engine.testing.ToyDecoder;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Graph shapes the shared fixtures lack, on tiny generated decoders (see {@link ToyDecoder}). */
class DecoderIoTest {
  @TempDir Path dir;

  private DecoderModel load(ToyDecoder.Shape shape) {
    Path pkg = ToyDecoder.write(dir.resolve(shape.name()), shape);
    return DecoderModel.load(ModelPackage.open(pkg), SessionSettings.DEFAULTS, FakeTokenizer.of("a", "b", "c", "d", "e", "f"));
  }

  @Test
  void append_lastOnlyLogitsGraph_givesSameRowsAsAllLogitsGraph() {
    int[] prompt = {3, 1, 4, 1, 5};
    try (DecoderModel all = load(ToyDecoder.Shape.ALL_LOGITS); DecoderModel last = load(ToyDecoder.Shape.LAST_LOGITS);
        Sequence a = all.newSequence(); Sequence l = last.newSequence()) {
      assertEquals(1, last.layers());
      float[][] expected = a.appendAll(prompt);
      float[][] actual = l.appendAll(prompt);
      for (int i = 0; i < prompt.length; i++) {
        assertArrayEquals(expected[i], actual[i], 0f, "row " + i);
        assertEquals((prompt[i] + 1) % ToyDecoder.VOCAB, Logits.argmax(actual[i]));
      }
      assertArrayEquals(a.append(6), l.append(6), 0f);
      assertArrayEquals(a.appendAll(7, 0, 2)[1], l.appendAll(7, 0, 2)[1], 0f);
      assertEquals(a.length(), l.length());
      assertEquals(9, l.length());
    }
  }

  @Test
  void append_positionsContinueAcrossCalls() {
    try (DecoderModel model = load(ToyDecoder.Shape.ALL_LOGITS); Sequence seq = model.newSequence()) {
      seq.append(1, 2, 3);
      float[] row = seq.append(4);
      // Row at position 3 for id 4: W[4] peaks at 5; the position term is 0.01 * 3 * v.
      assertEquals(5f + 0.03f * 5, row[5], 1e-6);
      assertEquals(0.03f * 7, row[7], 1e-6);
    }
  }

  @Test
  void load_graphWithoutCache_rejected() {
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> load(ToyDecoder.Shape.NO_CACHE));
    assertTrue(e.getMessage().contains("past_key_values.0.key"), e.getMessage());
  }

  @Test
  void load_missingPresentOutput_rejected() {
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> load(ToyDecoder.Shape.MISSING_PRESENT_VALUE));
    assertTrue(e.getMessage().contains("present.0.value"), e.getMessage());
  }

  @Test
  void load_inputTheRuntimeDoesNotFeed_rejected() {
    ModelPackageException e = assertThrows(ModelPackageException.class, () -> load(ToyDecoder.Shape.EXTRA_INPUT));
    assertTrue(e.getMessage().contains("token_type_ids"), e.getMessage());
  }

  @Test
  void load_unknownExecutionProvider_rejectedBySettings() {
    assertThrows(IllegalArgumentException.class, () -> SessionSettings.DEFAULTS.withExecutionProvider("tpu"));
  }
}
