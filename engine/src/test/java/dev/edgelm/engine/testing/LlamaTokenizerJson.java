package dev.edgelm.engine.testing;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Writes a Hugging Face {@code tokenizer.json} of Llama kind from a llama2.c {@code tokenizer.bin},
 * the way transformers' {@code LlamaConverter} turns a SentencePiece model into one: vocabulary in id
 * order with {@code ▁} for spaces; merges derived from the scored vocabulary by {@code
 * SentencePieceExtractor} (a merge {@code a b} exists for every split of a piece {@code ab} into two
 * pieces; per piece the splits are ordered by the ids of their halves; all merges are then stably
 * sorted by the score of {@code ab}, best first); BPE model with {@code byte_fallback}; {@code
 * <unk>}, {@code <s>}, {@code </s>} as special added tokens.
 *
 * <p>It reads the .bin on its own rather than through the engine, so the tokenizer.json path is
 * checked against an independent reading of the file.
 */
public final class LlamaTokenizerJson {
  /** How the file expresses SentencePiece's space handling. */
  public enum Style {
    /** Llama 2 as converted with {@code legacy=true}: normalizer {@code Prepend("▁")} + {@code Replace(" ", "▁")}, no pre-tokenizer. */
    NORMALIZER,
    /** Newer conversions: a {@code Metaspace} pre-tokenizer ({@code prepend_scheme "first"}, {@code split false}), no normalizer. */
    METASPACE,
    /** A {@code Metaspace} pre-tokenizer that splits the text before each {@code ▁} ({@code split true}). */
    METASPACE_SPLIT
  }

  private LlamaTokenizerJson() {}

  /** Writes {@code dir/tokenizer.json} derived from {@code tokenizerBin} and returns its path. */
  public static Path write(Path tokenizerBin, Path dir, Style style) {
    try {
      List<String> pieces = new ArrayList<>();
      List<Float> scores = new ArrayList<>();
      ByteBuffer in = ByteBuffer.wrap(Files.readAllBytes(tokenizerBin)).order(ByteOrder.LITTLE_ENDIAN);
      in.getInt(); // max_token_length
      while (in.hasRemaining()) {
        scores.add(in.getFloat());
        byte[] bytes = new byte[in.getInt()];
        in.get(bytes);
        String piece = new String(bytes, StandardCharsets.UTF_8);
        pieces.add(piece.equals("\n<s>\n") ? "<s>" : piece.equals("\n</s>\n") ? "</s>" : piece.replace(' ', '\u2581'));
      }
      Map<String, Integer> vocab = new HashMap<>();
      for (int id = 0; id < pieces.size(); id++) {
        vocab.put(pieces.get(id), id);
      }

      record Merge(int left, int right, float score) {}
      List<Merge> merges = new ArrayList<>();
      for (int id = 0; id < pieces.size(); id++) {
        String piece = pieces.get(id);
        List<Merge> local = new ArrayList<>();
        for (int split = piece.offsetByCodePoints(0, 1); split < piece.length(); split = piece.offsetByCodePoints(split, 1)) {
          Integer left = vocab.get(piece.substring(0, split));
          Integer right = vocab.get(piece.substring(split));
          if (left != null && right != null) {
            local.add(new Merge(left, right, scores.get(id)));
          }
        }
        local.sort(Comparator.comparingInt(Merge::left).thenComparingInt(Merge::right));
        merges.addAll(local);
      }
      merges.sort(Comparator.comparingDouble((Merge m) -> m.score()).reversed()); // List.sort is stable

      ObjectMapper mapper = new ObjectMapper();
      ObjectNode root = mapper.createObjectNode();
      root.put("version", "1.0");
      ArrayNode added = root.putArray("added_tokens");
      for (int id = 0; id < 3; id++) {
        added.addObject().put("id", id).put("content", pieces.get(id)).put("single_word", false).put("lstrip", false)
            .put("rstrip", false).put("normalized", false).put("special", true);
      }
      if (style == Style.NORMALIZER) {
        ArrayNode steps = root.putObject("normalizer").put("type", "Sequence").putArray("normalizers");
        steps.addObject().put("type", "Prepend").put("prepend", "\u2581");
        ObjectNode replace = steps.addObject().put("type", "Replace");
        replace.putObject("pattern").put("String", " ");
        replace.put("content", "\u2581");
        root.putNull("pre_tokenizer");
      } else {
        root.putNull("normalizer");
        root.putObject("pre_tokenizer").put("type", "Metaspace").put("replacement", "\u2581").put("prepend_scheme", "first")
            .put("split", style == Style.METASPACE_SPLIT);
      }
      ObjectNode model = root.putObject("model");
      model.put("type", "BPE").putNull("dropout").put("unk_token", "<unk>").putNull("continuing_subword_prefix")
          .putNull("end_of_word_suffix").put("fuse_unk", true).put("byte_fallback", true).put("ignore_merges", false);
      ObjectNode vocabNode = model.putObject("vocab");
      for (int id = 0; id < pieces.size(); id++) {
        vocabNode.put(pieces.get(id), id);
      }
      ArrayNode mergeNodes = model.putArray("merges");
      for (Merge merge : merges) {
        mergeNodes.addArray().add(pieces.get(merge.left())).add(pieces.get(merge.right()));
      }
      Path file = dir.resolve("tokenizer.json");
      mapper.writeValue(file.toFile(), root);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
