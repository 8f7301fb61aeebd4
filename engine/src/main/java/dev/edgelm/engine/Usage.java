package dev.edgelm.engine;

/**
 * Tokens a generation consumed and produced.
 *
 * @param promptTokens tokens of the prompt as fed to the model (including BOS when added)
 * @param completionTokens tokens sampled so far, including an end-of-sequence token and the token
 *     that completed a stop string
 */
public record Usage(int promptTokens, int completionTokens) {}
