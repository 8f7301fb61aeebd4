package dev.edgelm.engine;

/** Why a {@link Generation} ended; the same three reasons as the gRPC API's {@code FinishReason}. */
public enum FinishReason {
  /** The end-of-sequence token or a stop string. */
  STOP,
  /** The token limit of the request or the model's context length. */
  LENGTH,
  /** {@link Generation#cancel()} or {@link Generation#close()} before the end. */
  CANCELLED
}
