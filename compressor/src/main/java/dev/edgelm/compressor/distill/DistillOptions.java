package dev.edgelm.compressor.distill;

import java.nio.file.Path;

/**
 * How a {@code distill} step trains the student (the chain so far) against the base.
 *
 * @param trainText the training text; never the evaluation text
 * @param trainTokens student tokens to train on (steps × batch × seqLen, rounded up to whole steps)
 * @param lr AdamW's peak learning rate (linear warm-up, then cosine to zero)
 * @param batch sequences per step
 * @param seqLen tokens per sequence (capped at the model's context)
 * @param topK teacher logits kept per position
 * @param weightDecay AdamW's decoupled weight decay
 * @param checkpointEvery steps between checkpoints (a killed run resumes from the last one)
 * @param seed orders the training sequences; the same seed gives the same student
 * @param threads libtorch intra-op threads
 */
public record DistillOptions(Path trainText, long trainTokens, double lr, int batch, int seqLen, int topK, double weightDecay,
    int checkpointEvery, long seed, int threads) {
  public static final long DEFAULT_TRAIN_TOKENS = 100_000;
  public static final double DEFAULT_LR = 1e-3;
  public static final int DEFAULT_BATCH = 8;
  public static final int DEFAULT_SEQ_LEN = 128;
  public static final int DEFAULT_TOP_K = 32;
  public static final double DEFAULT_WEIGHT_DECAY = 0.0;
  public static final int DEFAULT_CHECKPOINT_EVERY = 50;
  public static final long DEFAULT_SEED = 1;

  public DistillOptions {
    if (trainText == null) {
      throw new IllegalArgumentException("the training text is required");
    }
    if (trainTokens < 1 || !(lr > 0) || batch < 1 || seqLen < 2 || topK < 1 || weightDecay < 0 || checkpointEvery < 1
        || threads < 1) {
      throw new IllegalArgumentException("distill options out of range");
    }
  }

  /** Steps of {@code batch} sequences of {@code seqLen} tokens that cover {@link #trainTokens}. */
  public int steps(int seqLen) {
    long perStep = (long) batch * seqLen;
    return (int) Math.max(1, (trainTokens + perStep - 1) / perStep);
  }
}
