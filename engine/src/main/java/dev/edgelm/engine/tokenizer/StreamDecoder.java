package dev.edgelm.engine.tokenizer;

/**
 * Incremental detokenisation for a stream of generated token ids.
 *
 * <p>{@link #push(int)} returns the text that became complete with that token: never a partial
 * UTF-8 sequence (a multi-byte character split across byte-fallback tokens is held back until its
 * last byte arrives), and never text already returned. The concatenation of everything returned,
 * followed by {@link #flush()}, equals {@link Tokenizer#decode(int[])} of the whole stream, except
 * that a stream keeps the leading space of its first token which {@code decode} drops for
 * SentencePiece models (it reads that space as the dummy prefix): a continuation after a prompt
 * starts with its space. Special tokens emit nothing. Not thread-safe: one decoder per generation.
 */
public interface StreamDecoder {
  /**
   * Adds one token; returns the newly completed text (possibly empty).
   *
   * @throws dev.edgelm.engine.InvalidRequestException when {@code tokenId} is outside the vocabulary
   */
  String push(int tokenId);

  /**
   * Returns whatever is still held back, with incomplete UTF-8 replaced by U+FFFD, and empties the
   * decoder; it can be used again afterwards.
   */
  String flush();
}
