package dev.edgelm.engine;

import java.util.List;
import java.util.Objects;

/**
 * What to generate: a prompt (text, or token ids used verbatim), a token limit, sampling options,
 * stop strings, and the ticker that times it.
 *
 * <p>Build one with {@link #ofText(String)} or {@link #ofIds(int...)} and the {@code with*}
 * methods. Exactly one of {@code prompt} and {@code promptIds} is non-null.
 *
 * @param prompt prompt text, encoded with the model's tokenizer (BOS added when the model expects it)
 * @param promptIds prompt token ids, fed as given (no BOS added)
 * @param maxTokens most tokens to generate, {@code >= 1}
 * @param stop strings that end the generation; the text from a stop string on is never emitted
 */
public record GenerationRequest(
    String prompt, int[] promptIds, int maxTokens, SamplingOptions sampling, List<String> stop, Ticker ticker) {

  public static final int DEFAULT_MAX_TOKENS = 256;

  /** @throws InvalidRequestException naming the field that is wrong */
  public GenerationRequest {
    if ((prompt == null) == (promptIds == null)) {
      throw new InvalidRequestException("give exactly one of prompt text and prompt token ids");
    }
    promptIds = promptIds == null ? null : promptIds.clone();
    if (maxTokens < 1) {
      throw new InvalidRequestException("max_tokens must be >= 1, got " + maxTokens);
    }
    Objects.requireNonNull(sampling, "sampling");
    Objects.requireNonNull(ticker, "ticker");
    stop = List.copyOf(stop);
    for (String s : stop) {
      if (s.isEmpty()) {
        throw new InvalidRequestException("stop strings must not be empty");
      }
    }
  }

  public static GenerationRequest ofText(String prompt) {
    return new GenerationRequest(Objects.requireNonNull(prompt, "prompt"), null, DEFAULT_MAX_TOKENS,
        SamplingOptions.DEFAULTS, List.of(), Ticker.system());
  }

  public static GenerationRequest ofIds(int... promptIds) {
    return new GenerationRequest(null, Objects.requireNonNull(promptIds, "promptIds"), DEFAULT_MAX_TOKENS,
        SamplingOptions.DEFAULTS, List.of(), Ticker.system());
  }

  @Override
  public int[] promptIds() {
    return promptIds == null ? null : promptIds.clone();
  }

  public GenerationRequest withMaxTokens(int max) {
    return new GenerationRequest(prompt, promptIds, max, sampling, stop, ticker);
  }

  public GenerationRequest withSampling(SamplingOptions options) {
    return new GenerationRequest(prompt, promptIds, maxTokens, options, stop, ticker);
  }

  public GenerationRequest withStop(String... stops) {
    return new GenerationRequest(prompt, promptIds, maxTokens, sampling, List.of(stops), ticker);
  }

  public GenerationRequest withTicker(Ticker t) {
    return new GenerationRequest(prompt, promptIds, maxTokens, sampling, stop, t);
  }
}
