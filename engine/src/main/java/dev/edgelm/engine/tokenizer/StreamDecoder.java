package dev.edgelm.engine.tokenizer;

/**
 * Incremental detokenisation for a stream of generated token ids.
 *
 * <p>{@link #push(int)} returns the text that became complete with that token: never a partial
 * UTF-8 sequence (a multi-byte character split across byte-fallback tokens is held back until its
 * last byte arrives), and never text already returned. The concatenation of everything returned,
 * followed by {@link #flush()}, equals the decoding of the whole stream. Not thread-safe: one
 * decoder per generation.
 */
public interface StreamDecoder {
  /** Adds one token; returns the newly completed text (possibly empty). */
  String push(int tokenId);

  /** Returns whatever is still held back, with incomplete UTF-8 replaced by U+FFFD. */
  String flush();
}
