package dev.edgelm.engine;

/**
 * A whole generation, as {@link Generation#stream} returns it.
 *
 * @param tokenIds every sampled token, in order
 * @param text everything emitted (the concatenation of the chunks' text)
 */
public record GenerationResult(FinishReason finishReason, int[] tokenIds, String text, Usage usage, Timings timings) {}
