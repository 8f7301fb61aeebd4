package dev.edgelm.engine;

import java.util.OptionalLong;

/**
 * How the next token is chosen from the logits. The defaults decode greedily, as the gRPC API does
 * when a request sets nothing.
 *
 * <p>Order of application (as in Hugging Face {@code generate}): repetition penalty, then
 * temperature, then top-k, then top-p over what top-k kept. Reported log-probabilities are always
 * under the model's raw distribution, before any of these.
 *
 * @param temperature 0 for greedy (argmax), else the divisor of the logits; finite and {@code >= 0}
 * @param topK keep the k most likely tokens; 0 keeps all
 * @param topP keep the smallest set of most likely tokens whose probability reaches p, in
 *     {@code (0, 1]}; 1 keeps all
 * @param repetitionPenalty CTRL-style penalty on tokens already in the prompt or output: positive
 *     logits are divided by it, negative ones multiplied; {@code > 0}, 1 disables
 * @param seed makes sampling deterministic; empty picks a random seed
 * @param topLogprobs how many most likely alternatives to report with each token, 0 to
 *     {@link #MAX_TOP_LOGPROBS}
 * @param logprobs whether log-probabilities are computed at all; without them a token's {@link
 *     SampledToken#logprob()} is NaN and no alternatives are reported, which saves a pass over the
 *     vocabulary per token (a log-sum-exp: ~0.2-0.3 ms on a 50k vocabulary). The six-argument
 *     constructor computes them.
 */
public record SamplingOptions(
    float temperature, int topK, float topP, float repetitionPenalty, OptionalLong seed, int topLogprobs, boolean logprobs) {

  public static final float DEFAULT_TEMPERATURE = 0f;
  public static final int DEFAULT_TOP_K = 0;
  public static final float DEFAULT_TOP_P = 1f;
  public static final float DEFAULT_REPETITION_PENALTY = 1f;
  public static final int DEFAULT_TOP_LOGPROBS = 0;
  public static final int MAX_TOP_LOGPROBS = 20;

  /** Greedy decoding, no penalty, no alternatives. */
  public static final SamplingOptions DEFAULTS = new SamplingOptions(
      DEFAULT_TEMPERATURE, DEFAULT_TOP_K, DEFAULT_TOP_P, DEFAULT_REPETITION_PENALTY, OptionalLong.empty(), DEFAULT_TOP_LOGPROBS);

  /** Options that compute log-probabilities. */
  public SamplingOptions(float temperature, int topK, float topP, float repetitionPenalty, OptionalLong seed, int topLogprobs) {
    this(temperature, topK, topP, repetitionPenalty, seed, topLogprobs, true);
  }

  /** @throws InvalidRequestException naming the parameter that is out of range */
  public SamplingOptions {
    if (!(temperature >= 0f) || Float.isInfinite(temperature)) {
      throw new InvalidRequestException("temperature must be finite and >= 0 (0 = greedy), got " + temperature);
    }
    if (topK < 0) {
      throw new InvalidRequestException("top_k must be >= 0 (0 = all tokens), got " + topK);
    }
    if (!(topP > 0f && topP <= 1f)) {
      throw new InvalidRequestException("top_p must be in (0, 1] (1 = all tokens), got " + topP);
    }
    if (!(repetitionPenalty > 0f) || Float.isInfinite(repetitionPenalty)) {
      throw new InvalidRequestException("repetition_penalty must be finite and > 0 (1 = none), got " + repetitionPenalty);
    }
    if (seed == null) {
      seed = OptionalLong.empty();
    }
    if (topLogprobs < 0 || topLogprobs > MAX_TOP_LOGPROBS) {
      throw new InvalidRequestException("logprobs must be in [0, " + MAX_TOP_LOGPROBS + "], got " + topLogprobs);
    }
    if (topLogprobs > 0 && !logprobs) {
      throw new InvalidRequestException("top log-probabilities (" + topLogprobs + ") need logprobs on");
    }
  }

  public boolean greedy() {
    return temperature == 0f;
  }

  public SamplingOptions withTemperature(float t) {
    return new SamplingOptions(t, topK, topP, repetitionPenalty, seed, topLogprobs, logprobs);
  }

  public SamplingOptions withTopK(int k) {
    return new SamplingOptions(temperature, k, topP, repetitionPenalty, seed, topLogprobs, logprobs);
  }

  public SamplingOptions withTopP(float p) {
    return new SamplingOptions(temperature, topK, p, repetitionPenalty, seed, topLogprobs, logprobs);
  }

  public SamplingOptions withRepetitionPenalty(float penalty) {
    return new SamplingOptions(temperature, topK, topP, penalty, seed, topLogprobs, logprobs);
  }

  public SamplingOptions withSeed(long s) {
    return new SamplingOptions(temperature, topK, topP, repetitionPenalty, OptionalLong.of(s), topLogprobs, logprobs);
  }

  /** Whether log-probabilities are computed ({@code false} also drops any top alternatives). */
  public SamplingOptions withLogprobs(boolean on) {
    return new SamplingOptions(temperature, topK, topP, repetitionPenalty, seed, on ? topLogprobs : 0, on);
  }

  public SamplingOptions withTopLogprobs(int n) {
    return new SamplingOptions(temperature, topK, topP, repetitionPenalty, seed, n, logprobs || n > 0);
  }
}
