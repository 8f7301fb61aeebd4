package dev.edgelm.engine.tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2 byte-level BPE, as OpenAI's {@code encoder.py} and Hugging Face's ByteLevel + BPE run it.
 *
 * <p>Encoding: the GPT-2 regex cuts the text into words (contractions, letters, digits, other
 * symbols, each optionally led by one space, and runs of whitespace); each word's UTF-8 bytes start
 * as one symbol per byte (the vocabulary holds every byte, spelled through GPT-2's bytes-to-unicode
 * table) and {@link BpeMerges} merges them by the rank of their line in the merges file. Words
 * repeat a lot in text, so results are cached per word; the cache is a bounded concurrent map that
 * is cleared when full, which keeps the working set of the current text without a replacement
 * policy to synchronise.
 *
 * <p>Text is encoded literally: {@code "<|endoftext|>"} in the input becomes the pieces of those
 * characters, never the special token, so user text cannot inject control tokens. Special tokens
 * decode to nothing.
 */
final class ByteLevelBpeTokenizer extends BpeTokenizer {
  /** GPT-2's pre-tokenizer; with UNICODE_CHARACTER_CLASS {@code \s} is Unicode White_Space, as in the regex library GPT-2 used. */
  private static final Pattern WORDS =
      Pattern.compile(
          "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
          Pattern.UNICODE_CHARACTER_CLASS);

  private static final int CACHE_CAPACITY = 65_536;
  private static final int LONGEST_CACHED_WORD = 64;

  private static final char[] BYTE_TO_CHAR = byteToChar();
  private static final int[] CHAR_TO_BYTE = charToByte();

  private final int[] byteIds;
  private final BpeMerges merges;
  private final Map<String, int[]> cache = new ConcurrentHashMap<>();

  private ByteLevelBpeTokenizer(
      String[] pieces, byte[][] tokenBytes, int[] byteIds, BpeMerges merges, OptionalInt bos, OptionalInt eos, boolean addsBos) {
    super(pieces, tokenBytes, bos, eos, addsBos);
    this.byteIds = byteIds;
    this.merges = merges;
  }

  /**
   * Builds the tokenizer from a vocabulary and its merges.
   *
   * @param vocabFile the file the vocabulary came from, named in errors
   * @param added tokens outside the byte-level alphabet (tokenizer.json's added_tokens): special
   *     ones decode to nothing, others to their content
   * @param specials further ids that decode to nothing (e.g. {@code <|endoftext|>} from vocab.json)
   */
  static ByteLevelBpeTokenizer create(
      Path vocabFile,
      Map<String, Integer> vocab,
      BpeMerges merges,
      List<HfTokenizerJson.AddedToken> added,
      Set<Integer> specials,
      OptionalInt bos,
      OptionalInt eos,
      boolean addsBos) {
    String[] pieces = HfTokenizerJson.piecesById(vocab, added);
    byte[][] tokenBytes = new byte[pieces.length][];
    vocab.forEach((piece, id) -> tokenBytes[id] = specials.contains(id) ? null : pieceBytes(piece));
    for (HfTokenizerJson.AddedToken token : added) {
      tokenBytes[token.id()] = token.special() ? null : token.content().getBytes(StandardCharsets.UTF_8);
    }

    int[] byteIds = new int[256];
    for (int b = 0; b < 256; b++) {
      Integer id = vocab.get(String.valueOf(BYTE_TO_CHAR[b]));
      if (id == null) {
        throw TokenizerFiles.corrupt(vocabFile, String.format("has no entry for byte 0x%02X, so it is not a GPT-2 byte-level vocabulary", b));
      }
      byteIds[b] = id;
    }
    return new ByteLevelBpeTokenizer(pieces, tokenBytes, byteIds, merges, bos, eos, addsBos);
  }

  @Override
  public int[] encode(String text) {
    IntList ids = new IntList(text.length() / 3);
    Matcher words = WORDS.matcher(text);
    while (words.find()) {
      String word = words.group();
      int[] wordIds = cache.get(word);
      if (wordIds == null) {
        wordIds = encodeWord(word);
        if (word.length() <= LONGEST_CACHED_WORD) {
          if (cache.size() >= CACHE_CAPACITY) {
            cache.clear();
          }
          cache.put(word, wordIds);
        }
      }
      ids.addAll(wordIds, wordIds.length);
    }
    return ids.toArray();
  }

  private int[] encodeWord(String word) {
    byte[] bytes = word.getBytes(StandardCharsets.UTF_8);
    int[] ids = new int[bytes.length];
    for (int i = 0; i < bytes.length; i++) {
      ids[i] = byteIds[bytes[i] & 0xFF];
    }
    return Arrays.copyOf(ids, merges.apply(ids, ids.length));
  }

  /** A vocabulary piece back to bytes; characters outside the byte alphabet stand for themselves. */
  private static byte[] pieceBytes(String piece) {
    ByteArrayOutputStream out = new ByteArrayOutputStream(piece.length());
    for (int i = 0; i < piece.length(); i++) {
      char c = piece.charAt(i);
      int b = c < CHAR_TO_BYTE.length ? CHAR_TO_BYTE[c] : -1;
      if (b >= 0) {
        out.write(b);
      } else {
        byte[] literal = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
        out.write(literal, 0, literal.length);
      }
    }
    return out.toByteArray();
  }

  /**
   * GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes ({@code !..~}, {@code ¡..¬},
   * {@code ®..ÿ}) stand for themselves; the other 68 bytes, in increasing order, take U+0100
   * onwards, so every byte has a visible, non-space character.
   */
  private static char[] byteToChar() {
    char[] table = new char[256];
    int next = 0x100;
    for (int b = 0; b < 256; b++) {
      boolean printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      table[b] = printable ? (char) b : (char) next++;
    }
    return table;
  }

  private static int[] charToByte() {
    int[] table = new int[0x100 + 68];
    Arrays.fill(table, -1);
    for (int b = 0; b < 256; b++) {
      table[BYTE_TO_CHAR[b]] = b;
    }
    return table;
  }
}
