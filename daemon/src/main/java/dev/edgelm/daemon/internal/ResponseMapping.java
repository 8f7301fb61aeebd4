package dev.edgelm.daemon.internal;

import dev.edgelm.engine.FinishReason;
import dev.edgelm.engine.GenerationChunk;
import dev.edgelm.engine.TokenLogprob;
import dev.edgelm.engine.Usage;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.Timings;
import dev.edgelm.proto.v1.TopLogprob;

/**
 * Engine results to {@code GenerateResponse} messages, the counterpart of {@link RequestMapping}: one message per
 * step, and the fields only the last one carries (finish reason, usage, timings). Stateless.
 */
final class ResponseMapping {
  private ResponseMapping() {}

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
