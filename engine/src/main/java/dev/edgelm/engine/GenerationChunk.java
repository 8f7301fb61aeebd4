package dev.edgelm.engine;

import java.util.List;

/**
 * What one {@link Generation#next()} step produced.
 *
 * @param tokenId the sampled token, or {@link #NO_TOKEN} when the step ran no model (cancelled)
 * @param logprob its log-probability under the model's raw distribution (0 without a token)
 * @param topLogprobs the most likely alternatives, when the request asked for them
 * @param text text newly safe to emit: complete UTF-8, with anything that might begin a stop
 *     string held back and stop strings never included; often empty
 * @param finishReason set on the last chunk only, else null
 */
public record GenerationChunk(int tokenId, float logprob, List<TokenLogprob> topLogprobs, String text, FinishReason finishReason) {
  public static final int NO_TOKEN = -1;

  public boolean hasToken() {
    return tokenId != NO_TOKEN;
  }

  public boolean isLast() {
    return finishReason != null;
  }
}
