package dev.edgelm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.testing.LlamaTokenizerJson;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.engine.testing.SharedTokenizers;
import dev.edgelm.proto.v1.TokenizerSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

class TokenizersTest {
  @TempDir Path dir;

  private static TokenizerSpec gpt2Spec(String... files) {
    return TokenizerSpec.newBuilder().setKind(Tokenizers.KIND_GPT2_BPE).addAllFiles(List.of(files)).build();
  }

  /** Asserts the load fails with a one-line ModelPackageException whose message contains each fragment. */
  private static void assertPackageError(Executable load, String... fragments) {
    ModelPackageException e = assertThrows(ModelPackageException.class, load);
    assertFalse(e.getMessage().contains("\n"), e.getMessage());
    for (String fragment : fragments) {
      assertTrue(e.getMessage().contains(fragment), () -> "'" + fragment + "' not in: " + e.getMessage());
    }
  }

  private void link(String name, String sharedFile) throws IOException {
    Files.createSymbolicLink(dir.resolve(name), SharedAssets.require(sharedFile));
  }

  private void write(String name, String content) throws IOException {
    Files.writeString(dir.resolve(name), content, StandardCharsets.UTF_8);
  }

  @Test
  void detect_gpt2FixtureDir_prefersTokenizerJson() {
    TokenizerSpec spec = Tokenizers.detect(SharedAssets.require("models/gpt2-fixture"), "gpt2");

    assertEquals(Tokenizers.KIND_GPT2_BPE, spec.getKind());
    assertEquals(List.of("tokenizer.json"), spec.getFilesList());
    assertFalse(spec.getAddBos());
    assertFalse(spec.getAddDummyPrefix());
    assertEquals(50256, spec.getBosTokenId());
    assertEquals(50256, spec.getEosTokenId());
  }

  @Test
  void detect_vocabAndMergesWithoutConfig_findsEndOfText() throws IOException {
    link("vocab.json", "tokenizers/gpt2/vocab.json");
    link("merges.txt", "tokenizers/gpt2/merges.txt");

    TokenizerSpec spec = Tokenizers.detect(dir, "gpt2");

    assertEquals(gpt2Spec("vocab.json", "merges.txt").toBuilder().setBosTokenId(50256).setEosTokenId(50256).build(), spec);
    assertArrayEquals(SharedTokenizers.gpt2().encode("Hello world"), Tokenizers.load(dir, spec).encode("Hello world"));
  }

  @Test
  void detect_stories260KHfDir_usesTokenizerBinAndConfigIds() {
    Path hfDir = SharedAssets.require("models/stories260K-hf");
    TokenizerSpec spec = Tokenizers.detect(hfDir, "llama");

    assertEquals(SharedTokenizers.llamaSpec("tokenizer.bin"), spec);
    assertArrayEquals(new int[] {1, 403, 407, 261, 378}, Tokenizers.load(hfDir, spec).encodePrompt("Once upon a time"));
  }

  @Test
  void detect_llamaTokenizerJson_readsKindPrefixAndAddedTokens() {
    LlamaTokenizerJson.write(SharedAssets.require("tokenizers/llama2/tokenizer.bin"), dir, LlamaTokenizerJson.Style.NORMALIZER);

    TokenizerSpec spec = Tokenizers.detect(dir, "llama");

    assertEquals(SharedTokenizers.llamaSpec("tokenizer.json"), spec);
  }

  @Test
  void detect_directoryWithoutTokenizer_namesExpectedFiles() {
    assertPackageError(() -> Tokenizers.detect(dir, "gpt2"), dir.toString(), "tokenizer.json", "merges.txt", "tokenizer.bin");
  }

  @Test
  void detect_unknownFamily_isRejected() {
    assertPackageError(() -> Tokenizers.detect(dir, "bert"), "'bert'", "gpt2 or llama");
  }

  @Test
  void loadLlama2c_anyPath_addsBosAndDummyPrefix() {
    Tokenizer tokenizer = Tokenizers.loadLlama2c(SharedAssets.require("models/stories260K/tok512.bin"));

    assertTrue(tokenizer.addsBos());
    assertEquals(OptionalInt.of(1), tokenizer.bosId());
    assertEquals(OptionalInt.of(2), tokenizer.eosId());
    assertEquals(512, tokenizer.vocabSize());
    assertArrayEquals(new int[] {1, 403, 407, 261, 378}, tokenizer.encodePrompt("Once upon a time"));
  }

  @Test
  void load_missingFile_namesFileAndFix() {
    assertPackageError(() -> Tokenizers.load(dir, SharedTokenizers.llamaSpec("tokenizer.bin")), "tokenizer.bin", "missing", "re-pull");
    assertPackageError(() -> Tokenizers.loadLlama2c(dir.resolve("nope.bin")), "nope.bin", "missing");
  }

  @Test
  void load_truncatedTokenizerBin_isRejected() throws IOException {
    byte[] full = Files.readAllBytes(SharedAssets.require("models/stories260K/tok512.bin"));
    for (int length : new int[] {0, 3, 4 + 5, 4 + 8 + 2, full.length - 1}) {
      Files.write(dir.resolve("tokenizer.bin"), Arrays.copyOf(full, length));
      assertPackageError(() -> Tokenizers.load(dir, SharedTokenizers.llamaSpec("tokenizer.bin")), "tokenizer.bin", "truncated");
    }
  }

  @Test
  void load_tokenizerBinWithBadHeaderOrLength_isRejected() throws IOException {
    Files.write(dir.resolve("tokenizer.bin"), new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0, 0, 0, 0});
    assertPackageError(() -> Tokenizers.loadLlama2c(dir.resolve("tokenizer.bin")), "not a llama2.c tokenizer.bin");

    byte[] entry = {1, 0, 0, 0, /* score */ 0, 0, 0, 0, /* length 9 > max 1 */ 9, 0, 0, 0, 'a'};
    Files.write(dir.resolve("tokenizer.bin"), entry);
    assertPackageError(() -> Tokenizers.loadLlama2c(dir.resolve("tokenizer.bin")), "corrupt at entry 0");
  }

  @Test
  void load_malformedJson_reportsPosition() throws IOException {
    write("tokenizer.json", "{\"model\": {\"type\": \"BPE\",\n \"vocab\": {\"a\": 0,}}}");

    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("tokenizer.json")), "tokenizer.json", "not valid JSON", "line 2");
  }

  @Test
  void load_tokenizerJsonWithoutMerges_isRejected() throws IOException {
    write("tokenizer.json", "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0}}, \"pre_tokenizer\": {\"type\": \"ByteLevel\"}}");

    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("tokenizer.json")), "tokenizer.json", "model.merges");
  }

  @Test
  void load_unsupportedTokenizerJsonModel_isRejected() throws IOException {
    write("tokenizer.json", "{\"model\": {\"type\": \"WordPiece\", \"vocab\": {\"a\": 0}}}");

    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("tokenizer.json")), "WordPiece", "BPE");
  }

  @Test
  void load_missingMergesTxt_isRejected() throws IOException {
    link("vocab.json", "tokenizers/gpt2/vocab.json");

    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("vocab.json")), "vocab.json with merges.txt");
    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("vocab.json", "merges.txt")), "merges.txt", "missing");
  }

  @Test
  void load_mergeOfUnknownPieces_isRejected() throws IOException {
    link("vocab.json", "tokenizers/gpt2/vocab.json");
    write("merges.txt", "#version: 0.2\n\u0120 t\nzzzq xq\n");

    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("vocab.json", "merges.txt")), "merges.txt", "merge 2", "do not belong together");
  }

  @Test
  void load_unknownKind_isRejected() {
    TokenizerSpec spec = TokenizerSpec.newBuilder().setKind("wordpiece").addFiles("vocab.txt").build();

    assertPackageError(() -> Tokenizers.load(dir, spec), "'wordpiece'", "gpt2-bpe or sentencepiece-bpe");
  }

  @Test
  void load_fileOutsidePackage_isRejected() {
    assertPackageError(() -> Tokenizers.load(dir, SharedTokenizers.llamaSpec("../tokenizer.bin")), "outside the package");
  }

  @Test
  void load_specContradictingTokenizerJson_isRejected() {
    LlamaTokenizerJson.write(SharedAssets.require("tokenizers/llama2/tokenizer.bin"), dir, LlamaTokenizerJson.Style.NORMALIZER);

    assertPackageError(
        () -> Tokenizers.load(dir, SharedTokenizers.llamaSpec("tokenizer.json").toBuilder().setAddDummyPrefix(false).build()),
        "add_dummy_prefix=false");
    assertPackageError(() -> Tokenizers.load(dir, gpt2Spec("tokenizer.json")), "sentencepiece-bpe", "descriptor says gpt2-bpe");
  }

  @Test
  void load_bosOutsideVocabulary_isRejected() {
    Path packageDir = SharedAssets.require("models/stories260K");
    TokenizerSpec spec = SharedTokenizers.llamaSpec("tok512.bin").toBuilder().setBosTokenId(512).build();

    assertPackageError(() -> Tokenizers.load(packageDir, spec), "512", "outside the vocabulary");
  }
}
