package dev.edgelm.trainer;

import dev.edgelm.compressor.distill.DistillOptions;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.engine.Ticker;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.AdamW;
import org.bytedeco.pytorch.AdamWOptions;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * One distillation run: the training loop over a student, its teacher targets and its sequences.
 *
 * <p>Design notes. The loss at each position is {@code KL(p̂ ‖ q)} where {@code p̂} is the teacher's
 * softmax over its stored top-k logits (renormalised over those k) and {@code q} the student's full
 * softmax read at the same k ids; it is zero only when the student puts the teacher's mass on the
 * teacher's tokens. AdamW with a linear warm-up over the first 5 % of steps and a cosine decay to
 * zero, gradients clipped to norm {@value #CLIP_NORM}. Step {@code s} trains on the sequences at
 * positions {@code s·batch .. s·batch+batch-1} of a sequence order that is a seeded shuffle per
 * pass over the data, so the data a step sees depends on the seed and the step alone: a run
 * resumed from a checkpoint (parameters, AdamW state, losses) takes exactly the steps the
 * uninterrupted run would have taken.
 *
 * <p>Not thread-safe; libtorch's intra-op threads are set by {@link Torch#init}.
 */
final class DistillRun {
  static final double CLIP_NORM = 1.0;
  /** Least ticker time between two progress lines (the first, the last and each checkpoint are always shown). */
  static final long PROGRESS_INTERVAL_NANOS = 2_000_000_000L;

  /** What the run produced. */
  record Outcome(ModelIr student, int steps, float[] losses, int resumedFrom) {
    /** Mean loss over the first (or last) tenth of the steps, at least one. */
    double meanLoss(boolean first) {
      int n = Math.max(1, losses.length / 10);
      double sum = 0;
      for (int i = 0; i < n; i++) {
        sum += losses[first ? i : losses.length - 1 - i];
      }
      return sum / n;
    }
  }

  private final DistillOptions options;
  private final List<int[]> sequences;
  private final TeacherTargets teacher;
  private final Checkpoints checkpoints;
  private final Ticker ticker;
  private final Consumer<String> progress;

  DistillRun(DistillOptions options, List<int[]> sequences, TeacherTargets teacher, Checkpoints checkpoints, Ticker ticker,
      Consumer<String> progress) {
    this.options = options;
    this.sequences = sequences;
    this.teacher = teacher;
    this.checkpoints = checkpoints;
    this.ticker = ticker;
    this.progress = progress;
  }

  static int warmupSteps(int steps) {
    return (int) Math.ceil(steps * 0.05);
  }

  /** The learning rate of step {@code s} (0-based) of {@code steps}. */
  static double learningRate(double peak, int s, int steps) {
    int warm = warmupSteps(steps);
    if (s < warm) {
      return peak * (s + 1) / warm;
    }
    double t = (double) (s - warm) / Math.max(1, steps - warm);
    return peak * 0.5 * (1 + Math.cos(Math.PI * t));
  }

  Outcome run(ModelIr studentIr) {
    int length = sequences.get(0).length;
    int steps = options.steps(length);
    int batch = options.batch();
    StudentModel student = new StudentModel(studentIr);
    List<Tensor> params = student.parameters();
    TensorVector vector = new TensorVector(params.toArray(Tensor[]::new));
    AdamWOptions adamOptions = new AdamWOptions(options.lr());
    adamOptions.weight_decay().put(options.weightDecay());
    AdamW optimizer = new AdamW(vector, adamOptions);
    float[] losses = new float[steps];
    int start = 0;
    Checkpoints.Restored restored = checkpoints.restore(params, optimizer);
    if (restored != null && restored.step() <= steps) {
      start = restored.step();
      System.arraycopy(restored.losses(), 0, losses, 0, Math.min(start, restored.losses().length));
      progress.accept("distill: resuming from the checkpoint at step " + start + "/" + steps);
    }
    long began = ticker.read();
    long lastLine = Long.MIN_VALUE;
    int[][] order = new int[1][];
    int orderPass = -1;
    long[] ids = new long[batch * length];
    float[] topValues = new float[batch * length * teacher.k()];
    long[] topIds = new long[batch * length * teacher.k()];
    for (int s = start; s < steps; s++) {
      for (int j = 0; j < batch; j++) {
        long g = (long) s * batch + j;
        int pass = (int) (g / sequences.size());
        if (pass != orderPass) {
          order[0] = order(sequences.size(), options.seed(), pass);
          orderPass = pass;
        }
        int seq = order[0][(int) (g % sequences.size())];
        int[] tokens = sequences.get(seq);
        for (int t = 0; t < length; t++) {
          ids[j * length + t] = tokens[t];
        }
        System.arraycopy(teacher.values(seq), 0, topValues, j * length * teacher.k(), length * teacher.k());
        int[] tid = teacher.ids(seq);
        for (int i = 0; i < tid.length; i++) {
          topIds[j * length * teacher.k() + i] = tid[i];
        }
      }
      try (PointerScope scope = new PointerScope()) {
        optimizer.param_groups().get(0).options().set_lr(learningRate(options.lr(), s, steps));
        Tensor logits = student.logits(Torch.longs(ids, batch, length));
        Tensor loss = klTopK(logits.reshape(batch * length, logits.size(2)), Torch.floats(topValues, batch * length, teacher.k()),
            Torch.longs(topIds, batch * length, teacher.k()));
        optimizer.zero_grad();
        loss.backward();
        torch.clip_grad_norm_(vector, CLIP_NORM);
        optimizer.step();
        losses[s] = loss.item_float();
      }
      boolean checkpoint = (s + 1) % options.checkpointEvery() == 0 && s + 1 < steps;
      long now = ticker.read();
      if (s == start || s + 1 == steps || checkpoint || now - lastLine >= PROGRESS_INTERVAL_NANOS) {
        progress.accept(progressLine(s + 1, steps, start, losses[s], (long) (s + 1 - start) * batch * length, now - began));
        lastLine = now;
      }
      if (checkpoint) {
        checkpoints.save(s + 1, java.util.Arrays.copyOf(losses, s + 1), params, optimizer);
        progress.accept("distill: checkpoint at step " + (s + 1));
      }
    }
    return new Outcome(student.toIr(), steps, losses, start);
  }

  /**
   * Mean over rows of {@code KL(p̂ ‖ q)}: {@code p̂ = softmax(topValues)}, {@code q = softmax(logits)}
   * read at {@code topIds}.
   */
  static Tensor klTopK(Tensor logits, Tensor topValues, Tensor topIds) {
    Tensor logQ = torch.log_softmax(logits, 1).gather(1, topIds);
    Tensor logP = torch.log_softmax(topValues, 1);
    return logP.exp().mul(logP.sub(logQ)).sum().div(Torch.scalar(logits.size(0)));
  }

  /** A permutation of {@code n} sequences for pass {@code pass}: Fisher–Yates from {@code seed} and the pass. */
  static int[] order(int n, long seed, int pass) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    Random r = new Random(seed * 1_000_003L + pass);
    for (int i = n - 1; i > 0; i--) {
      int j = r.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  /** E.g. {@code distill: step 12/40 (30%), loss 1.2345, 4,812 tokens/s, ETA 0:45}. */
  static String progressLine(int done, int steps, int start, float loss, long tokens, long nanos) {
    double seconds = nanos / 1e9;
    double rate = seconds > 0 ? tokens / seconds : 0;
    String eta = "?";
    if (done > start && seconds > 0) {
      long left = Math.round(seconds / (done - start) * (steps - done));
      eta = left / 3600 > 0 ? String.format("%d:%02d:%02d", left / 3600, left / 60 % 60, left % 60)
          : String.format("%d:%02d", left / 60, left % 60);
    }
    return String.format(java.util.Locale.ROOT, "distill: step %d/%d (%d%%), loss %.4f, %,.0f tokens/s, ETA %s", done, steps,
        100L * done / steps, loss, rate, eta);
  }
}
