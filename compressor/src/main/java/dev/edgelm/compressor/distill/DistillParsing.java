package dev.edgelm.compressor.distill;

import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.StepOptions;
import dev.edgelm.compressor.UsageException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** The {@code distill} step's options as front ends spell them, and their parsing. */
public final class DistillParsing {
  public static final List<Method.OptionSpec> OPTIONS = List.of(
      new Method.OptionSpec("train-text", "FILE", false, "distill: text to train on (required); never the text you evaluate on."),
      new Method.OptionSpec("train-tokens", "N", false,
          "distill: student tokens to train on, e.g. 10000 or 1M (default: " + DistillOptions.DEFAULT_TRAIN_TOKENS + ")."),
      new Method.OptionSpec("lr", "F", false, "distill: AdamW peak learning rate, warm-up then cosine (default: "
          + DistillOptions.DEFAULT_LR + ")."),
      new Method.OptionSpec("batch", "N", false, "distill: sequences per step (default: " + DistillOptions.DEFAULT_BATCH + ")."),
      new Method.OptionSpec("seq-len", "N", false,
          "distill: tokens per training sequence, capped at the context (default: " + DistillOptions.DEFAULT_SEQ_LEN + ")."),
      new Method.OptionSpec("top-k", "K", false,
          "distill: teacher logits kept per position for the KL loss (default: " + DistillOptions.DEFAULT_TOP_K + ")."),
      new Method.OptionSpec("weight-decay", "F", false,
          "distill: AdamW weight decay (default: " + DistillOptions.DEFAULT_WEIGHT_DECAY + ")."),
      new Method.OptionSpec("checkpoint-every", "N", false, "distill: steps between checkpoints; a killed run resumes from the"
          + " last one (default: " + DistillOptions.DEFAULT_CHECKPOINT_EVERY + ")."),
      new Method.OptionSpec("seed", "N", false, "distill: orders the training sequences (default: " + DistillOptions.DEFAULT_SEED + ")."));

  private DistillParsing() {}

  public static DistillOptions parse(StepOptions o) {
    if (!o.has("train-text")) {
      throw new UsageException("distill needs " + o.flag("train-text") + " FILE, the text to train on (not the text you"
          + " evaluate on), e.g. Tiny Shakespeare or text the base model wrote");
    }
    Path text = Path.of(o.string("train-text", ""));
    if (!Files.isRegularFile(text)) {
      throw new UsageException(o.flag("train-text") + " " + text + " is not a readable file; give a text file to train on");
    }
    long tokens = tokens(o);
    int batch = o.integer("batch", DistillOptions.DEFAULT_BATCH);
    int seqLen = o.integer("seq-len", DistillOptions.DEFAULT_SEQ_LEN);
    int topK = o.integer("top-k", DistillOptions.DEFAULT_TOP_K);
    int every = o.integer("checkpoint-every", DistillOptions.DEFAULT_CHECKPOINT_EVERY);
    double lr = o.decimal("lr", DistillOptions.DEFAULT_LR);
    double decay = o.decimal("weight-decay", DistillOptions.DEFAULT_WEIGHT_DECAY);
    positive(o, "batch", batch);
    positive(o, "top-k", topK);
    positive(o, "checkpoint-every", every);
    if (seqLen < 2) {
      throw new UsageException(o.flag("seq-len") + " must be at least 2, got " + seqLen);
    }
    if (!(lr > 0 && lr < 1)) {
      throw new UsageException(o.flag("lr") + " must be in (0, 1), got " + o.string("lr", ""));
    }
    if (!(decay >= 0 && decay < 1)) {
      throw new UsageException(o.flag("weight-decay") + " must be in [0, 1), got " + o.string("weight-decay", ""));
    }
    long seed;
    try {
      seed = Long.parseLong(o.string("seed", String.valueOf(DistillOptions.DEFAULT_SEED)).strip());
    } catch (NumberFormatException e) {
      throw new UsageException(o.flag("seed") + " must be an integer, got '" + o.string("seed", "") + "'");
    }
    return new DistillOptions(text, tokens, lr, batch, seqLen, topK, decay, every, seed, Math.max(1, o.threads()));
  }

  /** {@code 10000}, {@code 10k}, {@code 1M}. */
  private static long tokens(StepOptions o) {
    String t = o.string("train-tokens", String.valueOf(DistillOptions.DEFAULT_TRAIN_TOKENS)).strip();
    long scale = 1;
    String digits = t;
    if (t.endsWith("k") || t.endsWith("K")) {
      scale = 1_000;
      digits = t.substring(0, t.length() - 1);
    } else if (t.endsWith("m") || t.endsWith("M")) {
      scale = 1_000_000;
      digits = t.substring(0, t.length() - 1);
    }
    try {
      long n = Math.multiplyExact(Long.parseLong(digits), scale);
      if (n >= 1) {
        return n;
      }
    } catch (NumberFormatException | ArithmeticException e) {
      // reported below
    }
    throw new UsageException(o.flag("train-tokens") + " must be a positive count such as 10000, 10k or 1M, got '" + t + "'");
  }

  private static void positive(StepOptions o, String name, int value) {
    if (value < 1) {
      throw new UsageException(o.flag(name) + " must be at least 1, got " + value);
    }
  }
}
