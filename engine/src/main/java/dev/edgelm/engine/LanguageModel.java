package dev.edgelm.engine;

import dev.edgelm.engine.tokenizer.Tokenizer;

/**
 * A causal language model as the generation loop and the scorers see it: something that opens
 * {@link Sequence}s and knows its context length, vocabulary and tokenizer.
 *
 * <p>{@link DecoderModel} is the ONNX Runtime implementation; tests use in-process fakes.
 * Implementations are thread-safe: many sequences may run concurrently, each on its own thread.
 */
public interface LanguageModel {
  /** Opens an empty sequence (no tokens cached). The caller closes it. */
  Sequence newSequence();

  /** Most tokens a sequence may hold. */
  int contextLength();

  /** Length of each logits row (may exceed the tokenizer's vocabulary when the embedding is padded). */
  int vocabSize();

  Tokenizer tokenizer();
}
