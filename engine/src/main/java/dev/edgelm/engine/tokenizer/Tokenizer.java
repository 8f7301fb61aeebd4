package dev.edgelm.engine.tokenizer;

import java.util.OptionalInt;

/**
 * Turns text into token ids and back.
 *
 * <p>{@link #encode(String)} applies the tokenizer's own normalisation (for SentencePiece models
 * that includes the dummy prefix space) but never adds special tokens; {@link #encodePrompt(String)}
 * adds BOS where the model expects it. Text is encoded literally: the spelling of a special token
 * in the text ({@code "<|endoftext|>"}, {@code "<s>"}) becomes ordinary pieces, never the special
 * id, so user text cannot inject control tokens. Implementations are immutable and thread-safe; the
 * {@link StreamDecoder}s they hand out are not. Obtain them from {@link Tokenizers}.
 *
 * <p>Methods that take ids throw {@link dev.edgelm.engine.InvalidRequestException} for an id outside
 * the vocabulary.
 */
public interface Tokenizer {
  /** Token ids of {@code text}, without special tokens. */
  int[] encode(String text);

  /** Token ids of a prompt: BOS (when this model expects one) followed by {@link #encode(String)}. */
  default int[] encodePrompt(String text) {
    int[] ids = encode(text);
    OptionalInt bos = bosId();
    if (!addsBos() || bos.isEmpty()) {
      return ids;
    }
    int[] withBos = new int[ids.length + 1];
    withBos[0] = bos.getAsInt();
    System.arraycopy(ids, 0, withBos, 1, ids.length);
    return withBos;
  }

  /**
   * Text of a sequence of ids. Special tokens (BOS, EOS) decode to nothing, SentencePiece's
   * {@code <unk>} to U+FFFD; bytes that do not form valid UTF-8 decode to U+FFFD. The inverse of {@link #encode(String)}: for SentencePiece models
   * the dummy prefix space that encoding added is removed again, so {@code decode(encode(t))}
   * equals {@code t} for text the vocabulary covers. A continuation is decoded with a
   * {@link StreamDecoder}, which removes nothing.
   */
  String decode(int[] ids);

  /** A decoder for a stream of generated ids that emits text only once its UTF-8 is complete. */
  StreamDecoder newStreamDecoder();

  int vocabSize();

  OptionalInt bosId();

  OptionalInt eosId();

  /** Whether {@link #encodePrompt(String)} prepends BOS. */
  boolean addsBos();

  /**
   * The vocabulary entry of {@code id} (for diagnostics), e.g. {@code "Ġthe"} or {@code "▁the"}.
   * SentencePiece pieces are spelled with {@code ▁} and {@code <s>} even where a llama2.c
   * {@code tokenizer.bin} stores a space and {@code "\n<s>\n"}.
   */
  String piece(int id);
}
