package dev.edgelm.engine;

import java.util.List;

/**
 * The token a {@link Sampler} chose.
 *
 * @param id the token
 * @param logprob its log-probability under the model's raw distribution (before penalty,
 *     temperature and truncation); NaN when {@link SamplingOptions#logprobs()} is off
 * @param top the most likely tokens under that distribution, most likely first, as many as
 *     {@link SamplingOptions#topLogprobs()} asked (empty when none)
 */
public record SampledToken(int id, float logprob, List<TokenLogprob> top) {
  public SampledToken {
    top = List.copyOf(top);
  }
}
