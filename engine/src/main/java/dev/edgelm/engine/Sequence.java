package dev.edgelm.engine;

/**
 * One growing token sequence with its KV cache: each append runs the model on the new tokens only,
 * attending to everything appended before.
 *
 * <p>Not thread-safe: one thread drives a sequence at a time (handing it between threads is fine
 * with the usual happens-before, e.g. through an executor). Close it to release its native
 * memory; {@link #close()} is idempotent.
 *
 * <p>Errors: appending past {@link #contextLength()} or an id outside {@code [0, vocabSize)} throws
 * {@link InvalidRequestException} and leaves the sequence unchanged; a failure inside the runtime
 * throws {@link RuntimeFailureException} and also leaves it unchanged.
 */
public interface Sequence extends AutoCloseable {

  /** Receives logits rows; see {@link Sequence#append(int[], int, LogitsConsumer)}. */
  @FunctionalInterface
  interface LogitsConsumer {
    /**
     * @param index position of the row within the appended tokens (0 = first appended token)
     * @param logits the row, {@code vocabSize} long; the array is reused after this returns
     */
    void accept(int index, float[] logits);
  }

  /**
   * Appends {@code tokens} and hands the logits rows of positions {@code firstRow ..
   * tokens.length - 1} (relative to the appended tokens) to {@code rows}, in order. Row {@code i}
   * is the model's prediction of the token after {@code tokens[i]}. Rows before {@code firstRow}
   * are not read; {@code firstRow == tokens.length} reads none.
   */
  void append(int[] tokens, int firstRow, LogitsConsumer rows);

  /** Appends {@code tokens} and returns the logits of the last one (a fresh array). */
  default float[] append(int... tokens) {
    float[][] last = new float[1][];
    append(tokens, tokens.length - 1, (index, logits) -> last[0] = logits.clone());
    return last[0];
  }

  /** Appends {@code tokens} and returns the logits of every one of them (fresh arrays). */
  default float[][] appendAll(int... tokens) {
    float[][] all = new float[tokens.length][];
    append(tokens, 0, (index, logits) -> all[index] = logits.clone());
    return all;
  }

  /** Tokens appended so far. */
  int length();

  /** Most tokens this sequence may hold. */
  int contextLength();

  /** Drops every cached token, as if the sequence were new; keeps buffers for reuse. */
  void reset();

  @Override
  void close();
}
