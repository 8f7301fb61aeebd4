package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.SamplingOptions;
import dev.edgelm.engine.Ticker;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.proto.v1.GenerateRequest;
import java.util.List;
import java.util.OptionalLong;

/**
 * What a {@link GenerateRequest} asks for, validated, in the engine's terms. Built on the event loop
 * (cheap checks only); the prompt is tokenized later, on a decode worker, by {@link #toEngine}.
 *
 * @param maxTokens requested tokens, the server default already applied
 */
record RequestMapping(String model, String prompt, int[] promptIds, int maxTokens, SamplingOptions sampling, List<String> stop,
    boolean logprobs, String requestId) {

  /**
   * @throws BadRequestException for a missing model or prompt, or a negative max_tokens
   * @throws InvalidRequestException for sampling parameters out of range (both INVALID_ARGUMENT)
   */
  static RequestMapping of(GenerateRequest r, int defaultMaxTokens) {
    if (r.getModel().isBlank()) {
      throw new BadRequestException("model is required: name one of the models the daemon serves (Models.List)");
    }
    int[] ids = r.getPromptTokenIdsCount() > 0 ? r.getPromptTokenIdsList().stream().mapToInt(Integer::intValue).toArray() : null;
    if (ids == null && r.getPrompt().isEmpty()) {
      throw new BadRequestException("prompt is empty: give prompt text or prompt_token_ids");
    }
    if (r.getMaxTokens() < 0) {
      throw new BadRequestException("max_tokens must be >= 0 (0 = the server's default of " + defaultMaxTokens + "), got " + r.getMaxTokens());
    }
    // The API's "0 disables" maps to the engine's neutral values.
    SamplingOptions sampling = new SamplingOptions(
        r.getTemperature(),
        r.getTopK(),
        r.getTopP() == 0f ? SamplingOptions.DEFAULT_TOP_P : r.getTopP(),
        r.getRepetitionPenalty() == 0f ? SamplingOptions.DEFAULT_REPETITION_PENALTY : r.getRepetitionPenalty(),
        r.hasSeed() ? OptionalLong.of(r.getSeed()) : OptionalLong.empty(),
        r.hasLogprobs() ? r.getLogprobs() : 0,
        r.hasLogprobs()); // unasked, the sampler skips the log-sum-exp over the vocabulary
    for (String s : r.getStopList()) {
      if (s.isEmpty()) {
        throw new BadRequestException("stop strings must not be empty");
      }
    }
    return new RequestMapping(r.getModel(), ids == null ? r.getPrompt() : null, ids,
        r.getMaxTokens() == 0 ? defaultMaxTokens : r.getMaxTokens(), sampling, List.copyOf(r.getStopList()), r.hasLogprobs(),
        r.getRequestId());
  }

  /**
   * Tokenizes the prompt and caps the output so that prompt + output fit {@code context} tokens.
   *
   * @throws InvalidRequestException when the prompt alone fills the context
   */
  GenerationRequest toEngine(Tokenizer tokenizer, int context, Ticker ticker) {
    int[] ids = promptIds != null ? promptIds : tokenizer.encodePrompt(prompt);
    if (ids.length == 0) {
      throw new InvalidRequestException("prompt is empty after tokenization");
    }
    if (context > 0 && ids.length >= context) {
      throw new InvalidRequestException("prompt has " + ids.length + " tokens but model '" + model + "' serves a context of " + context
          + " tokens; shorten the prompt to leave room for the reply");
    }
    int max = context > 0 ? Math.min(maxTokens, context - ids.length) : maxTokens;
    return GenerationRequest.ofIds(ids).withMaxTokens(max).withSampling(sampling).withStop(stop.toArray(String[]::new)).withTicker(ticker);
  }
}
