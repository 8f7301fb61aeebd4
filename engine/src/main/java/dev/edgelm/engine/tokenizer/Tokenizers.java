package dev.edgelm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.proto.v1.TokenizerSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Loads {@link Tokenizer}s: from a model package and its descriptor's {@link TokenizerSpec}, from
 * a directory without a descriptor (a Hugging Face export) through {@link #detect}, or from a
 * llama2.c {@code tokenizer.bin} anywhere.
 *
 * <p>Two kinds run: {@value #KIND_GPT2_BPE} (GPT-2 byte-level BPE, from {@code tokenizer.json} or
 * {@code vocab.json} + {@code merges.txt}) and {@value #KIND_SENTENCEPIECE_BPE} (Llama-style BPE
 * with byte fallback, from {@code tokenizer.json} or llama2.c {@code tokenizer.bin}). Every problem
 * with the files (missing, truncated, malformed, of an unknown or unsupported kind) is a {@link
 * ModelPackageException} whose one-line message names the file and what to do. Loading reads and
 * indexes the files (a few tenths of a second for a 50k vocabulary); do it once per package and
 * share the tokenizer, which is immutable and thread-safe.
 */
public final class Tokenizers {
  /** {@link TokenizerSpec#getKind()} of GPT-2 byte-level BPE. */
  public static final String KIND_GPT2_BPE = "gpt2-bpe";
  /** {@link TokenizerSpec#getKind()} of SentencePiece-style BPE with byte fallback (Llama). */
  public static final String KIND_SENTENCEPIECE_BPE = "sentencepiece-bpe";

  static final String TOKENIZER_JSON = "tokenizer.json";
  static final String VOCAB_JSON = "vocab.json";
  static final String MERGES_TXT = "merges.txt";
  static final String TOKENIZER_BIN = "tokenizer.bin";

  private static final String GPT2_END_OF_TEXT = "<|endoftext|>";
  private static final List<String> BOS_NAMES = List.of("<s>", "<|begin_of_text|>", GPT2_END_OF_TEXT);
  private static final List<String> EOS_NAMES = List.of("</s>", "<|end_of_text|>", GPT2_END_OF_TEXT);

  private Tokenizers() {}

  /**
   * The tokenizer a package's descriptor describes; {@code spec.getFilesList()} are relative to
   * {@code packageDir}. BOS and EOS ids absent from the spec are taken from the files.
   *
   * @throws ModelPackageException when a file is missing or corrupt, the kind is unknown, or the
   *     spec contradicts the files
   */
  public static Tokenizer load(Path packageDir, TokenizerSpec spec) {
    List<Path> files = new ArrayList<>();
    Path root = packageDir.toAbsolutePath().normalize();
    for (String name : spec.getFilesList()) {
      Path file = root.resolve(name).normalize();
      if (!file.startsWith(root) || file.equals(root)) {
        throw new ModelPackageException("the descriptor of " + packageDir + " names tokenizer file '" + name + "' outside the package; re-import the model");
      }
      files.add(file);
    }
    Tokenizer tokenizer =
        switch (spec.getKind()) {
          case KIND_GPT2_BPE -> loadGpt2(packageDir, files, spec);
          case KIND_SENTENCEPIECE_BPE -> loadSentencePiece(packageDir, files, spec);
          default -> throw new ModelPackageException(
              "the descriptor of " + packageDir + " has tokenizer kind '" + spec.getKind() + "', expected " + KIND_GPT2_BPE + " or "
                  + KIND_SENTENCEPIECE_BPE + "; upgrade edgelm or re-import the model");
        };
    if (spec.getAddBos() && tokenizer.bosId().isEmpty()) {
      throw new ModelPackageException("the descriptor of " + packageDir + " asks for BOS but neither it nor the tokenizer files give a BOS id; set bos_token_id");
    }
    return tokenizer;
  }

  /**
   * The spec for a directory that has tokenizer files but no descriptor, such as a Hugging Face
   * export: {@code tokenizer.json} if present, else {@code vocab.json} + {@code merges.txt}, else a
   * llama2.c {@code tokenizer.bin}. The family decides BOS: {@code "gpt2"} adds none, {@code
   * "llama"} adds it. SentencePiece-kind tokenizers get the dummy prefix (from a tokenizer.json,
   * only when its normalizer or Metaspace prepends {@code ▁}). BOS and EOS ids come from {@code
   * config.json}, else {@code tokenizer_config.json}, else the tokenizer's own {@code <s>}/{@code
   * </s>} or {@code <|endoftext|>}. The chat template and special tokens of {@code
   * tokenizer_config.json}, when it has them, become {@code chat} ({@link TokenizerConfigChat}).
   *
   * @throws ModelPackageException when the directory has no tokenizer files, they are corrupt, or
   *     the family is neither gpt2 nor llama
   */
  public static TokenizerSpec detect(Path dir, String family) {
    boolean addsBos =
        switch (family.toLowerCase(Locale.ROOT)) {
          case "gpt2" -> false;
          case "llama" -> true;
          default -> throw new ModelPackageException(
              "model family '" + family + "' of " + dir + " has no tokenizer convention in edgelm; expected gpt2 or llama");
        };
    TokenizerSpec.Builder spec = TokenizerSpec.newBuilder().setAddBos(addsBos);
    Function<String, OptionalInt> idOf;
    if (Files.isRegularFile(dir.resolve(TOKENIZER_JSON))) {
      HfTokenizerJson json = HfTokenizerJson.read(dir.resolve(TOKENIZER_JSON));
      spec.setKind(json.kind).addFiles(TOKENIZER_JSON).setAddDummyPrefix(json.prependsSpace);
      idOf = json::idOf;
    } else if (Files.isRegularFile(dir.resolve(VOCAB_JSON)) && Files.isRegularFile(dir.resolve(MERGES_TXT))) {
      Path vocabFile = dir.resolve(VOCAB_JSON);
      Map<String, Integer> vocab = TokenizerFiles.vocabulary(TokenizerFiles.readJson(vocabFile), vocabFile, "vocabulary");
      spec.setKind(KIND_GPT2_BPE).addFiles(VOCAB_JSON).addFiles(MERGES_TXT);
      idOf = piece -> vocab.containsKey(piece) ? OptionalInt.of(vocab.get(piece)) : OptionalInt.empty();
    } else if (Files.isRegularFile(dir.resolve(TOKENIZER_BIN))) {
      Llama2cVocabulary vocabulary = Llama2cVocabulary.read(dir.resolve(TOKENIZER_BIN));
      spec.setKind(KIND_SENTENCEPIECE_BPE).addFiles(TOKENIZER_BIN).setAddDummyPrefix(true);
      idOf = vocabulary::idOf;
    } else {
      throw new ModelPackageException(
          "no tokenizer in " + dir + ": expected " + TOKENIZER_JSON + ", " + VOCAB_JSON + " with " + MERGES_TXT + ", or " + TOKENIZER_BIN
              + "; export the tokenizer with the model");
    }
    JsonNode config = optionalJson(dir.resolve("config.json"));
    JsonNode tokenizerConfig = optionalJson(dir.resolve("tokenizer_config.json"));
    specialId("bos", BOS_NAMES, config, tokenizerConfig, idOf).ifPresent(spec::setBosTokenId);
    specialId("eos", EOS_NAMES, config, tokenizerConfig, idOf).ifPresent(spec::setEosTokenId);
    if (Files.isRegularFile(dir.resolve(TokenizerConfigChat.FILE))) {
      TokenizerConfigChat.read(dir.resolve(TokenizerConfigChat.FILE)).ifPresent(spec::setChat);
    }
    return spec.build();
  }

  /**
   * A llama2.c {@code tokenizer.bin} from any path (the importer's {@code --tokenizer}), with
   * llama2.c's conventions: BOS ({@code <s>}) prepended to prompts, dummy prefix, EOS {@code </s>}.
   *
   * @throws ModelPackageException when the file is missing, truncated or corrupt, or has no {@code <s>}
   */
  public static Tokenizer loadLlama2c(Path tokenizerBin) {
    Llama2cVocabulary vocabulary = Llama2cVocabulary.read(tokenizerBin);
    OptionalInt bos = vocabulary.idOf(Llama2cVocabulary.BOS);
    if (bos.isEmpty()) {
      throw TokenizerFiles.corrupt(tokenizerBin, "has no <s> piece, so it is not a llama2.c tokenizer for a Llama model");
    }
    return SentencePieceBpeTokenizer.fromLlama2c(vocabulary, true, bos, vocabulary.idOf(Llama2cVocabulary.EOS), true);
  }

  private static Tokenizer loadGpt2(Path packageDir, List<Path> files, TokenizerSpec spec) {
    if (spec.getAddDummyPrefix()) {
      throw new ModelPackageException(
          "the descriptor of " + packageDir + " sets add_dummy_prefix for a " + KIND_GPT2_BPE + " tokenizer, which edgelm does not support; clear it");
    }
    Path json = single(files, name -> name.endsWith(".json") && !name.equals(VOCAB_JSON));
    if (json != null && files.size() == 1) {
      HfTokenizerJson tokenizer = HfTokenizerJson.read(json);
      requireKind(tokenizer, KIND_GPT2_BPE);
      Set<Integer> specials = new HashSet<>();
      tokenizer.addedTokens.stream().filter(HfTokenizerJson.AddedToken::special).forEach(t -> specials.add(t.id()));
      OptionalInt bos = id(spec.hasBosTokenId(), spec.getBosTokenId(), tokenizer.idOf(GPT2_END_OF_TEXT));
      OptionalInt eos = id(spec.hasEosTokenId(), spec.getEosTokenId(), tokenizer.idOf(GPT2_END_OF_TEXT));
      bos.ifPresent(specials::add);
      eos.ifPresent(specials::add);
      return checkIds(
          json,
          ByteLevelBpeTokenizer.create(
              json, tokenizer.vocab, BpeMerges.ranked(tokenizer.merges, tokenizer.vocab, json), tokenizer.addedTokens, specials, bos, eos,
              spec.getAddBos()));
    }
    Path vocabFile = single(files, VOCAB_JSON::equals);
    Path mergesFile = single(files, MERGES_TXT::equals);
    if (vocabFile == null || mergesFile == null || files.size() != 2) {
      throw new ModelPackageException(
          "the descriptor of " + packageDir + " lists tokenizer files " + spec.getFilesList() + "; " + KIND_GPT2_BPE + " needs " + TOKENIZER_JSON
              + " or " + VOCAB_JSON + " with " + MERGES_TXT);
    }
    Map<String, Integer> vocab = TokenizerFiles.vocabulary(TokenizerFiles.readJson(vocabFile), vocabFile, "vocabulary");
    Integer endOfText = vocab.get(GPT2_END_OF_TEXT);
    OptionalInt bos = id(spec.hasBosTokenId(), spec.getBosTokenId(), endOfText == null ? OptionalInt.empty() : OptionalInt.of(endOfText));
    OptionalInt eos = id(spec.hasEosTokenId(), spec.getEosTokenId(), endOfText == null ? OptionalInt.empty() : OptionalInt.of(endOfText));
    Set<Integer> specials = new HashSet<>();
    if (endOfText != null) {
      specials.add(endOfText);
    }
    bos.ifPresent(specials::add);
    eos.ifPresent(specials::add);
    return checkIds(
        vocabFile,
        ByteLevelBpeTokenizer.create(
            vocabFile, vocab, BpeMerges.ranked(readMergesTxt(mergesFile), vocab, mergesFile), List.of(), specials, bos, eos, spec.getAddBos()));
  }

  private static Tokenizer loadSentencePiece(Path packageDir, List<Path> files, TokenizerSpec spec) {
    Path file = files.size() == 1 ? files.get(0) : null;
    String name = file == null ? "" : file.getFileName().toString();
    if (name.endsWith(".json")) {
      HfTokenizerJson tokenizer = HfTokenizerJson.read(file);
      requireKind(tokenizer, KIND_SENTENCEPIECE_BPE);
      if (spec.getAddDummyPrefix() != tokenizer.prependsSpace) {
        throw new ModelPackageException(
            "the descriptor of " + packageDir + " sets add_dummy_prefix=" + spec.getAddDummyPrefix() + " but " + file
                + (tokenizer.prependsSpace ? " prepends" : " does not prepend") + " U+2581; correct the descriptor");
      }
      OptionalInt bos = id(spec.hasBosTokenId(), spec.getBosTokenId(), tokenizer.idOf(Llama2cVocabulary.BOS));
      OptionalInt eos = id(spec.hasEosTokenId(), spec.getEosTokenId(), tokenizer.idOf(Llama2cVocabulary.EOS));
      return checkIds(file, SentencePieceBpeTokenizer.fromHf(tokenizer, bos, eos, spec.getAddBos()));
    }
    if (name.endsWith(".bin")) {
      Llama2cVocabulary vocabulary = Llama2cVocabulary.read(file);
      OptionalInt bos = id(spec.hasBosTokenId(), spec.getBosTokenId(), vocabulary.idOf(Llama2cVocabulary.BOS));
      OptionalInt eos = id(spec.hasEosTokenId(), spec.getEosTokenId(), vocabulary.idOf(Llama2cVocabulary.EOS));
      return checkIds(file, SentencePieceBpeTokenizer.fromLlama2c(vocabulary, spec.getAddDummyPrefix(), bos, eos, spec.getAddBos()));
    }
    throw new ModelPackageException(
        "the descriptor of " + packageDir + " lists tokenizer files " + spec.getFilesList() + "; " + KIND_SENTENCEPIECE_BPE + " needs one "
            + TOKENIZER_JSON + " or one llama2.c " + TOKENIZER_BIN + " (convert a SentencePiece .model to one of them)");
  }

  /** merges.txt: an optional {@code #version} line, then one {@code left right} pair per line, best first. */
  private static List<String[]> readMergesTxt(Path file) {
    String[] lines = TokenizerFiles.readUtf8(file).split("\r?\n");
    List<String[]> merges = new ArrayList<>(lines.length);
    for (int i = 0; i < lines.length; i++) {
      String line = lines[i];
      if (line.isEmpty() || (i == 0 && line.startsWith("#version"))) {
        continue;
      }
      String[] pair = line.split(" ", -1);
      if (pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
        throw TokenizerFiles.corrupt(file, "line " + (i + 1) + " is not a merge of two pieces separated by one space");
      }
      merges.add(pair);
    }
    return merges;
  }

  private static void requireKind(HfTokenizerJson tokenizer, String kind) {
    if (!tokenizer.kind.equals(kind)) {
      throw new ModelPackageException(
          "tokenizer file " + tokenizer.file + " is of kind " + tokenizer.kind + " but the descriptor says " + kind + "; correct the descriptor");
    }
  }

  private static Tokenizer checkIds(Path file, Tokenizer tokenizer) {
    for (OptionalInt id : List.of(tokenizer.bosId(), tokenizer.eosId())) {
      if (id.isPresent() && (id.getAsInt() < 0 || id.getAsInt() >= tokenizer.vocabSize())) {
        throw new ModelPackageException(
            "the descriptor's BOS/EOS id " + id.getAsInt() + " is outside the vocabulary of " + file + " (" + tokenizer.vocabSize()
                + " ids); correct the descriptor");
      }
    }
    return tokenizer;
  }

  private static OptionalInt id(boolean given, int value, OptionalInt fromFiles) {
    return given ? OptionalInt.of(value) : fromFiles;
  }

  private static Path single(List<Path> files, Predicate<String> name) {
    List<Path> matches = files.stream().filter(f -> name.test(f.getFileName().toString())).toList();
    return matches.size() == 1 ? matches.get(0) : null;
  }

  private static JsonNode optionalJson(Path file) {
    return Files.isRegularFile(file) ? TokenizerFiles.readJson(file) : MissingNode.getInstance();
  }

  /** A BOS or EOS id for {@link #detect}: config.json, tokenizer_config.json, then conventional names. */
  private static OptionalInt specialId(
      String which, List<String> names, JsonNode config, JsonNode tokenizerConfig, Function<String, OptionalInt> idOf) {
    JsonNode id = config.path(which + "_token_id");
    if (id.isArray() && !id.isEmpty()) {
      id = id.get(0); // Llama 3 lists several EOS ids; the first is the end of text.
    }
    if (id.isIntegralNumber()) {
      return OptionalInt.of(id.intValue());
    }
    JsonNode token = tokenizerConfig.path(which + "_token");
    String name = token.isTextual() ? token.asText() : token.path("content").asText(null);
    if (name != null && idOf.apply(name).isPresent()) {
      return idOf.apply(name);
    }
    return names.stream().map(idOf).filter(OptionalInt::isPresent).findFirst().orElse(OptionalInt.empty());
  }
}
