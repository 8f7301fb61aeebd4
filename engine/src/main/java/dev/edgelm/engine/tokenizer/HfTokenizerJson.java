package dev.edgelm.engine.tokenizer;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;

/**
 * The parts of a Hugging Face {@code tokenizer.json} that edgelm runs: a BPE model plus either a
 * ByteLevel pre-tokenizer (GPT-2 kind) or SentencePiece-style {@code ▁} handling through the
 * normalizer ({@code Prepend("▁")}, {@code Replace(" ", "▁")}) or a {@code Metaspace}
 * pre-tokenizer (Llama kind). Anything else is refused with a message rather than tokenized
 * differently from the library that wrote the file.
 */
final class HfTokenizerJson {
  record AddedToken(int id, String content, boolean special) {}

  final Path file;
  final String kind;
  final Map<String, Integer> vocab;
  /** Merges in rank order, each {@code {left, right}}. */
  final List<String[]> merges;
  final List<AddedToken> addedTokens;
  final boolean byteFallback;
  final String unkToken;
  final boolean fuseUnk;
  /** SentencePiece kind: {@code ▁} is prepended to the text. */
  final boolean prependsSpace;
  /** SentencePiece kind, Metaspace: the {@code ▁} is not prepended when the text already starts with one. */
  final boolean prependsOnlyWithoutLeadingSpace;
  /** SentencePiece kind, Metaspace with {@code split}: merges stop at each {@code ▁}. */
  final boolean splitsBeforeSpace;

  private HfTokenizerJson(Path file, JsonNode root) {
    this.file = file;
    JsonNode model = root.path("model");
    if (!model.isObject()) {
      throw TokenizerFiles.corrupt(file, "has no \"model\" object, so it is not a Hugging Face tokenizer.json");
    }
    String type = model.path("type").asText("BPE");
    if (!type.equals("BPE")) {
      throw TokenizerFiles.unsupported(file, "has a " + type + " model");
    }
    if (!model.path("continuing_subword_prefix").asText("").isEmpty() || !model.path("end_of_word_suffix").asText("").isEmpty()) {
      throw TokenizerFiles.unsupported(file, "uses continuing_subword_prefix or end_of_word_suffix");
    }
    if (model.path("ignore_merges").asBoolean(false)) {
      throw TokenizerFiles.unsupported(file, "sets ignore_merges");
    }
    vocab = TokenizerFiles.vocabulary(model.get("vocab"), file, "model.vocab");
    merges = merges(model.get("merges"));
    addedTokens = addedTokens(root.path("added_tokens"));
    byteFallback = model.path("byte_fallback").asBoolean(false);
    unkToken = model.path("unk_token").isTextual() ? model.path("unk_token").asText() : null;
    fuseUnk = model.path("fuse_unk").asBoolean(false);

    JsonNode preTokenizer = single(root.path("pre_tokenizer"), "pretokenizers");
    JsonNode normalizer = root.path("normalizer");
    if (preTokenizer.path("type").asText().equals("ByteLevel")) {
      kind = Tokenizers.KIND_GPT2_BPE;
      if (!normalizer.isMissingNode() && !normalizer.isNull()) {
        throw TokenizerFiles.unsupported(file, "has a " + normalizer.path("type").asText() + " normalizer before its ByteLevel pre-tokenizer");
      }
      if (!preTokenizer.path("use_regex").asBoolean(true) || preTokenizer.path("add_prefix_space").asBoolean(false)) {
        throw TokenizerFiles.unsupported(file, "has a ByteLevel pre-tokenizer with use_regex=false or add_prefix_space=true");
      }
      prependsSpace = false;
      prependsOnlyWithoutLeadingSpace = false;
      splitsBeforeSpace = false;
      return;
    }
    kind = Tokenizers.KIND_SENTENCEPIECE_BPE;
    boolean replacesSpaces = false;
    boolean prepends = false;
    for (JsonNode step : steps(normalizer, "normalizers")) {
      String stepType = step.path("type").asText();
      if (stepType.equals("Prepend") && step.path("prepend").asText().equals(String.valueOf(SentencePieceBpeTokenizer.SPACE))) {
        prepends = true;
      } else if (stepType.equals("Replace")
          && step.path("pattern").path("String").asText().equals(" ")
          && step.path("content").asText().equals(String.valueOf(SentencePieceBpeTokenizer.SPACE))) {
        replacesSpaces = true;
      } else {
        throw TokenizerFiles.unsupported(file, "has a " + describe(step) + " normalizer step that edgelm does not implement");
      }
    }
    boolean metaspacePrepends = false;
    boolean split = false;
    if (preTokenizer.path("type").asText().equals("Metaspace")) {
      if (!preTokenizer.path("replacement").asText().equals(String.valueOf(SentencePieceBpeTokenizer.SPACE))) {
        throw TokenizerFiles.unsupported(file, "has a Metaspace pre-tokenizer whose replacement is not U+2581");
      }
      replacesSpaces = true;
      String scheme = preTokenizer.path("prepend_scheme").asText(preTokenizer.path("add_prefix_space").asBoolean(true) ? "always" : "never");
      metaspacePrepends = !scheme.equals("never");
      split = preTokenizer.path("split").asBoolean(true);
    } else if (!preTokenizer.isMissingNode() && !preTokenizer.isNull()) {
      throw TokenizerFiles.unsupported(file, "has a " + preTokenizer.path("type").asText() + " pre-tokenizer");
    }
    if (!replacesSpaces) {
      throw TokenizerFiles.unsupported(file, "neither uses a ByteLevel pre-tokenizer nor replaces spaces with U+2581 (Metaspace)");
    }
    prependsSpace = prepends || metaspacePrepends;
    prependsOnlyWithoutLeadingSpace = !prepends && metaspacePrepends;
    splitsBeforeSpace = split;
  }

  static HfTokenizerJson read(Path file) {
    return new HfTokenizerJson(file, TokenizerFiles.readJson(file));
  }

  /** The id of {@code piece} among the added tokens and the model vocabulary. */
  OptionalInt idOf(String piece) {
    for (AddedToken token : addedTokens) {
      if (token.content().equals(piece)) {
        return OptionalInt.of(token.id());
      }
    }
    Integer id = vocab.get(piece);
    return id == null ? OptionalInt.empty() : OptionalInt.of(id);
  }

  /** Pieces by id from a vocabulary and the added tokens (which win); ids nobody names stay null. */
  static String[] piecesById(Map<String, Integer> vocab, List<AddedToken> added) {
    int size = 0;
    for (int id : vocab.values()) {
      size = Math.max(size, id + 1);
    }
    for (AddedToken token : added) {
      size = Math.max(size, token.id() + 1);
    }
    String[] pieces = new String[size];
    vocab.forEach((piece, id) -> pieces[id] = piece);
    for (AddedToken token : added) {
      pieces[token.id()] = token.content();
    }
    return pieces;
  }

  private List<String[]> merges(JsonNode node) {
    if (node == null || !node.isArray()) {
      throw TokenizerFiles.corrupt(file, "has no model.merges list");
    }
    List<String[]> result = new ArrayList<>(node.size());
    for (JsonNode merge : node) {
      String[] pair;
      if (merge.isTextual()) {
        // Before tokenizers 0.20 a merge was one string "left right"; pieces never hold a plain space.
        pair = merge.asText().split(" ", -1);
      } else if (merge.isArray() && merge.size() == 2 && merge.get(0).isTextual() && merge.get(1).isTextual()) {
        pair = new String[] {merge.get(0).asText(), merge.get(1).asText()};
      } else {
        pair = new String[0];
      }
      if (pair.length != 2 || pair[0].isEmpty() || pair[1].isEmpty()) {
        throw TokenizerFiles.corrupt(file, "has a malformed merge " + merge + " (entry " + result.size() + " of model.merges)");
      }
      result.add(pair);
    }
    return result;
  }

  private List<AddedToken> addedTokens(JsonNode node) {
    List<AddedToken> result = new ArrayList<>();
    for (JsonNode token : node) {
      JsonNode id = token.path("id");
      if (!id.isIntegralNumber() || id.intValue() < 0 || !token.path("content").isTextual()) {
        throw TokenizerFiles.corrupt(file, "has a malformed added_tokens entry " + token);
      }
      result.add(new AddedToken(id.intValue(), token.path("content").asText(), token.path("special").asBoolean(false)));
    }
    return result;
  }

  /** The only element of a one-element {@code Sequence}, else the node itself. */
  private JsonNode single(JsonNode node, String listField) {
    List<JsonNode> steps = steps(node, listField);
    if (steps.size() > 1) {
      throw TokenizerFiles.unsupported(
          file, "has a pre-tokenizer sequence " + steps.stream().map(HfTokenizerJson::describe).toList() + " that edgelm does not implement");
    }
    return steps.isEmpty() ? node : steps.get(0);
  }

  /** A step's type, or its JSON when it is a short one (so a message names what was found). */
  private static String describe(JsonNode step) {
    String json = step.toString();
    return json.length() <= 80 ? json : step.path("type").asText("?");
  }

  /** The steps of a {@code Sequence} node, or the node itself as one step; none for null. */
  private static List<JsonNode> steps(JsonNode node, String listField) {
    List<JsonNode> steps = new ArrayList<>();
    if (node.isMissingNode() || node.isNull()) {
      return steps;
    }
    if (node.path("type").asText().equals("Sequence")) {
      node.path(listField).forEach(steps::add);
    } else {
      steps.add(node);
    }
    return steps;
  }
}
