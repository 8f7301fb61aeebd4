package dev.edgelm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgelm.engine.testing.LlamaTokenizerJson;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.engine.testing.SharedTokenizers;
import dev.edgelm.engine.testing.StreamDecoding;
import dev.edgelm.engine.testing.VocabTestVectors;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Supplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

class SentencePieceBpeTokenizerTest {
  private static final String VECTORS = "ggml-vocab-llama-spm.gguf";

  @TestFactory
  Stream<DynamicTest> encode_llamaCppSpmVectors_matchFromTokenizerBin() {
    return vectorTests(SharedTokenizers::llama2);
  }

  @TestFactory
  Stream<DynamicTest> encode_llamaCppSpmVectors_matchFromDerivedTokenizerJson(@TempDir Path dir) {
    Tokenizer tokenizer = derivedJson(dir, LlamaTokenizerJson.Style.NORMALIZER);
    return vectorTests(() -> tokenizer);
  }

  @TestFactory
  Stream<DynamicTest> decode_llamaCppSpmVectors_invertsEncode() {
    Tokenizer llama = SharedTokenizers.llama2();
    return VocabTestVectors.load(VECTORS).stream()
        .map(v -> DynamicTest.dynamicTest(v.toString(), () -> assertEquals(v.text(), llama.decode(v.ids()))));
  }

  private static Stream<DynamicTest> vectorTests(Supplier<Tokenizer> tokenizer) {
    return VocabTestVectors.load(VECTORS).stream()
        .map(v -> DynamicTest.dynamicTest(v.toString(), () -> assertArrayEquals(v.ids(), tokenizer.get().encode(v.text()))));
  }

  private static Tokenizer derivedJson(Path dir, LlamaTokenizerJson.Style style) {
    LlamaTokenizerJson.write(SharedAssets.require("tokenizers/llama2/tokenizer.bin"), dir, style);
    return Tokenizers.load(dir, SharedTokenizers.llamaSpec("tokenizer.json"));
  }

  @Test
  void encode_metaspaceTokenizerJson_skipsPrefixOnlyBeforeLeadingSpace(@TempDir Path dir) {
    Tokenizer metaspace = derivedJson(dir, LlamaTokenizerJson.Style.METASPACE);
    Tokenizer llama = SharedTokenizers.llama2();

    assertArrayEquals(llama.encode("Hello world"), metaspace.encode("Hello world"));
    // Hugging Face's Metaspace does not add "▁" when the text starts with a space; SentencePiece does.
    assertArrayEquals(new int[] {29871, 15043}, llama.encode(" Hello"));
    assertArrayEquals(new int[] {15043}, metaspace.encode(" Hello"));
    assertEquals("Hello", metaspace.decode(new int[] {15043}));
  }

  @Test
  void encode_metaspaceSplit_stopsMergesAtEachSpace(@TempDir Path dir) {
    Tokenizer split = derivedJson(dir, LlamaTokenizerJson.Style.METASPACE_SPLIT);

    assertArrayEquals(SharedTokenizers.llama2().encode("Hello world"), split.encode("Hello world"));
    // SentencePiece reads "  Hello" as "▁▁▁Hello" = "▁▁" "▁Hello"; the splitting Metaspace reads "▁▁Hello"
    // (no prefix before a leading space) and cuts it into "▁" and "▁Hello", so "▁▁" cannot form.
    assertArrayEquals(new int[] {259, 15043}, SharedTokenizers.llama2().encode("  Hello"));
    assertArrayEquals(new int[] {29871, 15043}, split.encode("  Hello"));
  }

  @Test
  void encodePrompt_stories260KReference_matchesPromptIds() {
    for (ReferenceOutputs.Case c : ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).cases()) {
      assertArrayEquals(c.promptIds(), SharedTokenizers.stories260K().encodePrompt(c.prompt()), c.prompt());
    }
  }

  @Test
  void streamDecoder_stories260KGreedyIds_reproducesGreedyText() {
    for (ReferenceOutputs.Case c : ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).cases()) {
      assertEquals(c.greedyText(), StreamDecoding.decodeAll(SharedTokenizers.stories260K(), c.greedyIds()), c.prompt());
    }
  }

  @Test
  void encodePrompt_tinyStoriesPerplexityProtocol_predictsReferenceTokenCount() throws IOException {
    String corpus = Files.readString(SharedAssets.require("corpora/tinystories-valid.head32k.txt"));
    List<String> stories = Arrays.stream(corpus.split("<\\|endoftext\\|>")).map(String::strip).filter(s -> !s.isEmpty()).toList();
    int predicted = 0;
    for (String story : stories) {
      int[] ids = SharedTokenizers.stories260K().encodePrompt(story);
      predicted += Math.min(ids.length, 512) - 1;
      assertEquals(story, SharedTokenizers.stories260K().decode(ids));
    }

    JsonNode reference = ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).perplexity();
    assertEquals(reference.path("stories").intValue(), stories.size());
    assertEquals(reference.path("predicted_tokens").intValue(), predicted);
  }

  @Test
  void encode_emojiByteFallback_matchesSentencePiece() {
    // U+1F999 is not a Llama 2 piece: its four UTF-8 bytes F0 9F A6 99 become <0xF0>.. at 3 + byte.
    assertArrayEquals(new int[] {29871, 243, 162, 169, 156}, SharedTokenizers.llama2().encode("🦙"));
    assertEquals("🦙", SharedTokenizers.llama2().decode(new int[] {29871, 243, 162, 169, 156}));
  }

  @Test
  void encode_emptyText_hasNoDummyPrefix() {
    assertArrayEquals(new int[0], SharedTokenizers.llama2().encode(""));
    assertArrayEquals(new int[] {1}, SharedTokenizers.llama2().encodePrompt(""));
  }

  @Test
  void encode_controlTokenSpelling_isEncodedLiterally() {
    Tokenizer llama = SharedTokenizers.llama2();
    int[] ids = llama.encode("<s>hi</s>");

    assertTrue(Arrays.stream(ids).noneMatch(id -> id < 3), Arrays.toString(ids));
    assertEquals("<s>hi</s>", llama.decode(ids));
  }

  @Test
  void decode_controlTokensAndUnk_decodeToNothingAndReplacement() {
    Tokenizer llama = SharedTokenizers.llama2();

    assertEquals("Hello world", llama.decode(new int[] {1, 15043, 3186, 2}));
    assertEquals("\uFFFD", llama.decode(new int[] {0}));
    assertEquals("<s>", llama.piece(1));
    assertEquals("\u2581Hello", llama.piece(15043));
    assertEquals("<0x0A>", llama.piece(13));
    assertEquals(OptionalInt.of(1), llama.bosId());
    assertEquals(OptionalInt.of(2), llama.eosId());
    assertEquals(32000, llama.vocabSize());
  }

  @Test
  void decode_bytePieces_yieldTheirBytes() {
    // <0x41> "A", <0x0A> "\n", then <0xC3><0xA9> "é".
    assertEquals("A\né", SharedTokenizers.llama2().decode(new int[] {3 + 0x41, 3 + 0x0A, 3 + 0xC3, 3 + 0xA9}));
  }

  @Test
  void decode_encodedText_roundTrips() {
    Tokenizer llama = SharedTokenizers.llama2();
    for (String text : new String[] {"Hello", " leading", "trailing  ", "  ", "tab\tand\nnewline", "日本語のテキスト", "x🦙y", "\u2581literal"}) {
      String expected = text.replace('\u2581', ' '); // a literal U+2581 means a space to SentencePiece
      assertEquals(expected, llama.decode(llama.encode(text)), text);
    }
  }
}
