package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.engine.FinishReason;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.SamplingOptions;
import dev.edgelm.engine.TokenLogprob;
import dev.edgelm.engine.Usage;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.Timings;
import dev.edgelm.proto.v1.TopLogprob;
import java.util.List;
import java.util.OptionalLong;

/**
 * The gRPC API's side of a generation: a {@link GenerateRequest} to a {@link StreamRequest}, and engine results to
 * {@code GenerateResponse} messages — one message per step, and the fields only the last one carries (finish reason,
 * usage, timings). Stateless.
 */
final class GrpcMapping {
  private GrpcMapping() {}

  /**
   * @throws BadRequestException for a missing model or prompt, or a negative max_tokens
   * @throws InvalidRequestException for sampling parameters out of range (both INVALID_ARGUMENT)
   */
  static StreamRequest request(GenerateRequest r, int defaultMaxTokens) {
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
    return new StreamRequest(r.getModel(), ids == null ? r.getPrompt() : null, ids, null,
        r.getMaxTokens() == 0 ? defaultMaxTokens : r.getMaxTokens(), sampling, List.copyOf(r.getStopList()), r.hasLogprobs(),
        r.getRequestId(), StreamRequest.ContextRule.CAP);
  }

  /** The message of one step: its text, its token and, when asked for, its log-probabilities. */
  static GenerateResponse step(GenerationChunk chunk, boolean logprobs, String requestId) {
    GenerateResponse.Builder b = GenerateResponse.newBuilder().setText(chunk.text());
    if (chunk.hasToken()) {
      b.addTokenIds(chunk.tokenId());
      if (logprobs) {
        dev.edgelm.proto.v1.TokenLogprob.Builder lp = dev.edgelm.proto.v1.TokenLogprob.newBuilder()
            .setTokenId(chunk.tokenId()).setLogprob(chunk.logprob());
        for (TokenLogprob t : chunk.topLogprobs()) {
          lp.addTop(TopLogprob.newBuilder().setTokenId(t.id()).setLogprob(t.logprob()));
        }
        b.addLogprobs(lp);
      }
    }
    if (!requestId.isEmpty()) {
      b.setRequestId(requestId);
    }
    return b.build();
  }

  /** {@code message} as the stream's last: with the variant, finish reason, usage and timings. */
  static GenerateResponse last(GenerateResponse message, String variant, FinishReason reason, Usage usage, Timings timings) {
    return message.toBuilder()
        .setVariant(variant)
        .setFinishReason(finishReason(reason))
        .setUsage(dev.edgelm.proto.v1.Usage.newBuilder().setPromptTokens(usage.promptTokens()).setCompletionTokens(usage.completionTokens()))
        .setTimings(timings)
        .build();
  }

  /**
   * The call's timings, from its arrival, admission, first token and last step (ticker nanoseconds; {@code
   * firstTokenNanos} negative when no token came) and the engine's decode rate.
   */
  static Timings timings(long arrivalNanos, long admittedNanos, long firstTokenNanos, long endNanos, double decodeTokensPerSecond) {
    return Timings.newBuilder()
        .setQueueMs(millis(admittedNanos - arrivalNanos))
        .setTimeToFirstTokenMs(firstTokenNanos < 0 ? 0 : millis(firstTokenNanos - admittedNanos))
        .setDecodeTokensPerSecond(decodeTokensPerSecond)
        .setTotalMs(millis(endNanos - arrivalNanos))
        .build();
  }

  static dev.edgelm.proto.v1.FinishReason finishReason(FinishReason r) {
    return switch (r) {
      case STOP -> dev.edgelm.proto.v1.FinishReason.FINISH_REASON_STOP;
      case LENGTH -> dev.edgelm.proto.v1.FinishReason.FINISH_REASON_LENGTH;
      case CANCELLED -> dev.edgelm.proto.v1.FinishReason.FINISH_REASON_CANCELLED;
    };
  }

  private static double millis(long nanos) {
    return nanos / 1e6;
  }
}
