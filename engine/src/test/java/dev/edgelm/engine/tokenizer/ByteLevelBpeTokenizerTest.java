package dev.edgelm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.engine.testing.SharedTokenizers;
import dev.edgelm.engine.testing.StreamDecoding;
import dev.edgelm.engine.testing.VocabTestVectors;
import java.io.IOException;
import java.nio.file.Files;
import java.util.Arrays;
import java.util.OptionalInt;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;

class ByteLevelBpeTokenizerTest {
  private static final String VECTORS = "ggml-vocab-gpt-2.gguf";

  @TestFactory
  Stream<DynamicTest> encode_llamaCppGpt2Vectors_matchFromVocabAndMerges() {
    return vectorTests(SharedTokenizers::gpt2);
  }

  @TestFactory
  Stream<DynamicTest> encode_llamaCppGpt2Vectors_matchFromTokenizerJson() {
    return vectorTests(SharedTokenizers::gpt2FixtureJson);
  }

  private static Stream<DynamicTest> vectorTests(Supplier<Tokenizer> tokenizer) {
    return VocabTestVectors.load(VECTORS).stream()
        .map(v -> DynamicTest.dynamicTest(v.toString(), () -> assertArrayEquals(v.ids(), tokenizer.get().encode(v.text()))));
  }

  @TestFactory
  Stream<DynamicTest> decode_llamaCppGpt2Vectors_reproducesInput() {
    Tokenizer gpt2 = SharedTokenizers.gpt2();
    return VocabTestVectors.load(VECTORS).stream()
        .map(v -> DynamicTest.dynamicTest(v.toString(), () -> assertEquals(v.text(), gpt2.decode(v.ids()))));
  }

  @Test
  void encodePrompt_gpt2FixtureReference_matchesPromptIdsWithoutBos() {
    for (ReferenceOutputs.Case c : ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).cases()) {
      assertArrayEquals(c.promptIds(), SharedTokenizers.gpt2FixtureJson().encodePrompt(c.prompt()), c.prompt());
    }
  }

  @Test
  void streamDecoder_gpt2FixtureGreedyIds_reproducesGreedyText() {
    for (ReferenceOutputs.Case c : ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).cases()) {
      assertEquals(c.greedyText(), StreamDecoding.decodeAll(SharedTokenizers.gpt2FixtureJson(), c.greedyIds()), c.prompt());
    }
  }

  @Test
  void encode_wikitext_matchesReferenceTokenCountAndRoundTrips() throws IOException {
    String text = Files.readString(SharedAssets.require("corpora/wikitext2-raw-test-a.txt"));
    int expected = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).perplexity().path("tokens").intValue();

    int[] ids = SharedTokenizers.gpt2().encode(text);

    assertEquals(expected, ids.length);
    assertEquals(text, SharedTokenizers.gpt2().decode(ids));
    assertArrayEquals(ids, SharedTokenizers.gpt2FixtureJson().encode(text));
  }

  @Test
  void encode_endOfTextInUserText_isEncodedLiterally() {
    Tokenizer gpt2 = SharedTokenizers.gpt2();
    int[] ids = gpt2.encode("a<|endoftext|>b");

    assertTrue(Arrays.stream(ids).noneMatch(id -> id == 50256));
    assertEquals("a<|endoftext|>b", gpt2.decode(ids));
  }

  @Test
  void decode_endOfText_decodesToNothing() {
    Tokenizer gpt2 = SharedTokenizers.gpt2();

    assertEquals("Hello world", gpt2.decode(new int[] {15496, 50256, 995, 50256}));
    assertEquals(OptionalInt.of(50256), gpt2.bosId());
    assertEquals(OptionalInt.of(50256), gpt2.eosId());
    assertFalse(gpt2.addsBos());
    assertEquals(50257, gpt2.vocabSize());
  }

  @Test
  void piece_returnsByteLevelSpelling() {
    assertEquals("\u0120the", SharedTokenizers.gpt2().piece(262));
    assertEquals("<|endoftext|>", SharedTokenizers.gpt2FixtureJson().piece(50256));
  }

  @Test
  void decode_idOutsideVocabulary_throwsInvalidRequest() {
    Tokenizer gpt2 = SharedTokenizers.gpt2();

    assertThrows(InvalidRequestException.class, () -> gpt2.decode(new int[] {50257}));
    assertThrows(InvalidRequestException.class, () -> gpt2.newStreamDecoder().push(-1));
    assertThrows(InvalidRequestException.class, () -> gpt2.piece(1 << 20));
  }

  @Test
  void encode_unicodeWhitespaceAndAstralText_roundTrips() {
    Tokenizer gpt2 = SharedTokenizers.gpt2();
    for (String text : new String[] {"a\u00A0\u00A0b", "x\u3000 y", "\r\n\r\n", "déjà vu", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉🎉", ""}) {
      assertEquals(text, gpt2.decode(gpt2.encode(text)), text);
    }
  }
}
