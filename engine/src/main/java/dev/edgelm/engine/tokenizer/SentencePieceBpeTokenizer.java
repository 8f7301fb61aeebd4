package dev.edgelm.engine.tokenizer;

import dev.edgelm.engine.InvalidRequestException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * SentencePiece-style BPE with byte fallback, as Llama models use it.
 *
 * <p>Encoding follows SentencePiece (and llama.cpp's SPM tokenizer): spaces become {@code ▁}; with
 * the dummy prefix a {@code ▁} is put in front (SentencePiece's {@code add_dummy_prefix}; not for
 * empty text); the whole text is then one sequence of symbols, one per code point, and a code
 * point the vocabulary lacks falls back to its UTF-8 bytes as the {@code <0xXX>} pieces.
 * {@link BpeMerges} then merges adjacent symbols. From a llama2.c {@code tokenizer.bin}, which
 * carries scores and no merges, a pair merges when its concatenation is a piece, best score first;
 * from a Hugging Face {@code tokenizer.json}, by the rank of its merge. Control pieces ({@code
 * <unk>}, {@code <s>}, {@code </s>}) and byte pieces never take part in merges, as in
 * SentencePiece, so text cannot spell a control token.
 *
 * <p>Decoding: {@code ▁} becomes a space, {@code <0xXX>} pieces become their byte, control pieces
 * become nothing and {@code <unk>} U+FFFD. {@link #decode(int[])} drops the one leading space the
 * dummy prefix stands for; a {@link StreamDecoder} drops nothing, so a continuation keeps the space
 * its first token carries.
 */
final class SentencePieceBpeTokenizer extends BpeTokenizer {
  /** U+2581, SentencePiece's visible space. */
  static final char SPACE = '\u2581';

  private static final Pattern BYTE_PIECE = Pattern.compile("<0x[0-9A-F]{2}>");
  private static final byte[] REPLACEMENT = "\uFFFD".getBytes(StandardCharsets.UTF_8);

  /** When a {@code ▁} is put in front of the text. */
  enum DummyPrefix {
    NEVER,
    /** SentencePiece's add_dummy_prefix and Hugging Face's {@code Prepend("▁")} normalizer. */
    ALWAYS,
    /** Hugging Face's Metaspace pre-tokenizer: only when the text does not start with a space already. */
    UNLESS_LEADING_SPACE
  }

  private final LongLongHashMap codePointIds;
  private final int[] byteIds;
  private final int unkId;
  private final boolean fuseUnk;
  private final BpeMerges merges;
  private final DummyPrefix dummyPrefix;
  private final boolean splitBeforeSpace;

  private SentencePieceBpeTokenizer(
      Vocabulary vocabulary,
      BpeMerges merges,
      boolean fuseUnk,
      DummyPrefix dummyPrefix,
      boolean splitBeforeSpace,
      OptionalInt bos,
      OptionalInt eos,
      boolean addsBos) {
    super(vocabulary.pieces, vocabulary.tokenBytes, bos, eos, addsBos);
    this.codePointIds = vocabulary.codePointIds;
    this.byteIds = vocabulary.byteIds;
    this.unkId = vocabulary.unkId;
    this.fuseUnk = fuseUnk;
    this.merges = merges;
    this.dummyPrefix = dummyPrefix;
    this.splitBeforeSpace = splitBeforeSpace;
  }

  /**
   * From a llama2.c vocabulary: pieces and scores, merges derived from the scores.
   *
   * @param bos BOS id; with {@code eos} it is treated as a control piece even if not named {@code <s>}
   */
  static SentencePieceBpeTokenizer fromLlama2c(
      Llama2cVocabulary file, boolean addDummyPrefix, OptionalInt bos, OptionalInt eos, boolean addsBos) {
    String[] pieces = file.pieces();
    Set<Integer> control = new HashSet<>();
    for (int id = 0; id < pieces.length; id++) {
      String piece = pieces[id];
      if (piece.equals(Llama2cVocabulary.BOS) || piece.equals(Llama2cVocabulary.EOS)) {
        control.add(id);
      }
    }
    bos.ifPresent(control::add);
    eos.ifPresent(control::add);
    int unkId = file.idOf(Llama2cVocabulary.UNK).orElse(-1);
    Vocabulary vocabulary = new Vocabulary(pieces, control, unkId, true);

    // Rank = position of the piece's score among distinct scores, best first: equal scores tie,
    // and ties go to the leftmost pair, as in llama2.c's strict '>' scan.
    double[] distinct = new double[pieces.length];
    int count = 0;
    for (int id = 0; id < pieces.length; id++) {
      if (vocabulary.isNormal(id)) {
        distinct[count++] = negatedScore(file, id);
      }
    }
    distinct = Arrays.stream(Arrays.copyOf(distinct, count)).distinct().sorted().toArray();
    BpeMerges.Builder merges = new BpeMerges.Builder(pieces.length * 4);
    for (int id = 0; id < pieces.length; id++) {
      String piece = pieces[id];
      if (!vocabulary.isNormal(id) || piece.codePointCount(0, piece.length()) < 2) {
        continue;
      }
      int rank = Arrays.binarySearch(distinct, negatedScore(file, id));
      for (int split = piece.offsetByCodePoints(0, 1); split < piece.length(); split = piece.offsetByCodePoints(split, 1)) {
        Integer left = vocabulary.normalIds.get(piece.substring(0, split));
        Integer right = vocabulary.normalIds.get(piece.substring(split));
        if (left != null && right != null) {
          merges.add(left, right, rank, id);
        }
      }
    }
    return new SentencePieceBpeTokenizer(
        vocabulary, merges.build(), false, addDummyPrefix ? DummyPrefix.ALWAYS : DummyPrefix.NEVER, false, bos, eos, addsBos);
  }

  /** Minus the score, as a sort key; {@code 0.0 - s} also makes -0.0 and 0.0 one key, as they compare in llama2.c. */
  private static double negatedScore(Llama2cVocabulary file, int id) {
    return 0.0 - file.scores()[id];
  }

  /** From a Hugging Face tokenizer.json of SentencePiece kind; merges by rank. */
  static SentencePieceBpeTokenizer fromHf(HfTokenizerJson json, OptionalInt bos, OptionalInt eos, boolean addsBos) {
    String[] pieces = HfTokenizerJson.piecesById(json.vocab, json.addedTokens);
    Set<Integer> control = new HashSet<>();
    for (HfTokenizerJson.AddedToken token : json.addedTokens) {
      if (token.special()) {
        control.add(token.id());
      }
    }
    bos.ifPresent(control::add);
    eos.ifPresent(control::add);
    int unkId = json.unkToken == null ? -1 : json.idOf(json.unkToken).orElse(-1);
    control.remove(unkId);
    Vocabulary vocabulary = new Vocabulary(pieces, control, unkId, json.byteFallback);

    DummyPrefix prefix =
        !json.prependsSpace ? DummyPrefix.NEVER : json.prependsOnlyWithoutLeadingSpace ? DummyPrefix.UNLESS_LEADING_SPACE : DummyPrefix.ALWAYS;
    return new SentencePieceBpeTokenizer(
        vocabulary, BpeMerges.ranked(json.merges, json.vocab, json.file), json.fuseUnk, prefix, json.splitsBeforeSpace, bos, eos, addsBos);
  }

  @Override
  public int[] encode(String text) {
    if (text.isEmpty()) {
      return new int[0];
    }
    String normalized = text.replace(' ', SPACE);
    if (dummyPrefix == DummyPrefix.ALWAYS || (dummyPrefix == DummyPrefix.UNLESS_LEADING_SPACE && normalized.charAt(0) != SPACE)) {
      normalized = SPACE + normalized;
    }
    IntList ids = new IntList(normalized.length());
    if (!splitBeforeSpace) {
      encodeSegment(normalized, 0, normalized.length(), ids);
      return ids.toArray();
    }
    int start = 0;
    for (int i = 1; i < normalized.length(); i++) {
      if (normalized.charAt(i) == SPACE) {
        encodeSegment(normalized, start, i, ids);
        start = i;
      }
    }
    encodeSegment(normalized, start, normalized.length(), ids);
    return ids.toArray();
  }

  private void encodeSegment(String text, int from, int to, IntList out) {
    // A UTF-16 unit is at most 3 UTF-8 bytes (a surrogate pair, two units, is 4).
    int[] symbols = new int[3 * (to - from)];
    int count = 0;
    boolean afterUnk = false;
    for (int i = from; i < to; ) {
      int codePoint = text.codePointAt(i);
      i += Character.charCount(codePoint);
      long id = codePointIds.get(codePoint);
      if (id != LongLongHashMap.ABSENT) {
        symbols[count++] = (int) id;
        afterUnk = false;
      } else if (byteIds != null) {
        for (byte b : utf8(codePoint)) {
          symbols[count++] = byteIds[b & 0xFF];
        }
        afterUnk = false;
      } else if (unkId >= 0) {
        if (!(fuseUnk && afterUnk)) {
          symbols[count++] = unkId;
        }
        afterUnk = true;
      } else {
        throw new InvalidRequestException(
            String.format("text contains U+%04X, which this tokenizer can neither represent nor map to <unk>", codePoint));
      }
    }
    out.addAll(symbols, merges.apply(symbols, count));
  }

  @Override
  public String decode(int[] ids) {
    String text = super.decode(ids);
    return dummyPrefix != DummyPrefix.NEVER && text.startsWith(" ") ? text.substring(1) : text;
  }

  private static byte[] utf8(int codePoint) {
    if (codePoint >= Character.MIN_SURROGATE && codePoint <= Character.MAX_SURROGATE) {
      return REPLACEMENT; // a lone surrogate has no UTF-8 form
    }
    return new String(Character.toChars(codePoint)).getBytes(StandardCharsets.UTF_8);
  }

  /** Pieces sorted into control, byte, unknown and normal, and what encoding and decoding need from them. */
  private static final class Vocabulary {
    final String[] pieces;
    final byte[][] tokenBytes;
    final Map<String, Integer> normalIds = new HashMap<>();
    final LongLongHashMap codePointIds;
    final int[] byteIds;
    final int unkId;

    Vocabulary(String[] pieces, Set<Integer> control, int unkId, boolean byteFallback) {
      this.pieces = pieces;
      this.unkId = unkId;
      tokenBytes = new byte[pieces.length][];
      codePointIds = new LongLongHashMap(1024);
      int[] bytes = new int[256];
      int byteCount = 0;
      for (int id = 0; id < pieces.length; id++) {
        String piece = pieces[id];
        if (piece == null || control.contains(id)) {
          continue;
        }
        if (id == unkId) {
          tokenBytes[id] = REPLACEMENT;
        } else if (BYTE_PIECE.matcher(piece).matches()) {
          int b = Integer.parseInt(piece.substring(3, 5), 16);
          tokenBytes[id] = new byte[] {(byte) b};
          bytes[b] = id;
          byteCount++;
        } else {
          tokenBytes[id] = piece.replace(SPACE, ' ').getBytes(StandardCharsets.UTF_8);
          normalIds.put(piece, id);
          if (piece.codePointCount(0, piece.length()) == 1) {
            codePointIds.putIfAbsent(piece.codePointAt(0), id);
          }
        }
      }
      byteIds = byteFallback && byteCount == 256 ? bytes : null;
    }

    boolean isNormal(int id) {
      Integer normal = pieces[id] == null ? null : normalIds.get(pieces[id]);
      return normal != null && normal == id;
    }
  }
}
