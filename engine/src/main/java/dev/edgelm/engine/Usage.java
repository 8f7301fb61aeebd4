package dev.edgelm.engine;

/**
 * Tokens a generation consumed and produced.
 *
 * @param promptTokens tokens of the prompt as fed to the model (including BOS when added)
 * @param completionTokens tokens sampled so far, including an end-of-sequence token and the token
 *     that completed a stop string
 * @param cachedPromptTokens tokens of the prompt whose KV cache was reused rather than run
 *     ({@link BatchDecoder.Row#cachedPromptTokens()}: a resident row's prefix or cached blocks); 0 on
 *     the per-sequence path, which reuses nothing
 */
public record Usage(int promptTokens, int completionTokens, int cachedPromptTokens) {
  /** @throws IllegalArgumentException when more prompt tokens are cached than the prompt has */
  public Usage {
    if (cachedPromptTokens < 0 || cachedPromptTokens > Math.max(promptTokens, 0)) {
      throw new IllegalArgumentException("cachedPromptTokens " + cachedPromptTokens + " outside [0, promptTokens " + promptTokens + "]");
    }
  }

  /** Usage with no cached prompt tokens. */
  public Usage(int promptTokens, int completionTokens) {
    this(promptTokens, completionTokens, 0);
  }
}
