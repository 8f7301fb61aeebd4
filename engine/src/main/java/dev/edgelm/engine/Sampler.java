package dev.edgelm.engine;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.SplittableRandom;

/**
 * Chooses tokens from logits as {@link SamplingOptions} say: greedy, or temperature sampling
 * truncated by top-k and top-p, after a repetition penalty over the tokens it has
 * {@linkplain #observe(int) observed}.
 *
 * <p>One sampler per generation: it holds the random state (so a seeded generation is
 * reproducible) and the set of tokens seen so far. Not thread-safe. Never touches the caller's
 * logits array.
 *
 * <p>Cost per token is O(V) plus O(V log k) for truncation to the k most likely tokens; top-p
 * without top-k looks at the 64 most likely tokens first and, when they do not reach p, finds the
 * nucleus by an expected-O(V) threshold search ({@link Nucleus}) instead of sorting the vocabulary.
 */
public final class Sampler {
  private static final int NUCLEUS_FIRST_LOOK = 64;

  private final SamplingOptions options;
  private final SplittableRandom random;
  private final BitSet seen = new BitSet();
  private float[] work = new float[0];
  private double[] weights = new double[0];
  private final Nucleus nucleus = new Nucleus();

  public Sampler(SamplingOptions options) {
    this.options = options;
    this.random = options.seed().isPresent() ? new SplittableRandom(options.seed().getAsLong()) : new SplittableRandom();
  }

  /** Records a token of the prompt or output for the repetition penalty. */
  public void observe(int token) {
    seen.set(token);
  }

  /** Records tokens of the prompt or output for the repetition penalty. */
  public void observe(int[] tokens) {
    for (int t : tokens) {
      seen.set(t);
    }
  }

  /** Chooses the next token from one row of logits. */
  public SampledToken sample(float[] logits) {
    int id;
    if (options.greedy() && options.repetitionPenalty() == 1f) {
      id = Logits.argmax(logits); // nothing to change in the row: no working copy
    } else {
      float[] w = penalised(logits);
      id = options.greedy() ? Logits.argmax(w) : draw(w);
    }
    if (!options.logprobs()) {
      return new SampledToken(id, Float.NaN, List.of()); // no pass over the vocabulary for a log-sum-exp nobody reads
    }
    double logZ = Logits.logSumExp(logits);
    List<TokenLogprob> top = new ArrayList<>(options.topLogprobs());
    if (options.topLogprobs() > 0) {
      for (int t : topIndices(logits, Math.min(options.topLogprobs(), logits.length))) {
        top.add(new TokenLogprob(t, (float) (logits[t] - logZ)));
      }
    }
    return new SampledToken(id, (float) (logits[id] - logZ), top);
  }

  private float[] penalised(float[] logits) {
    if (work.length != logits.length) {
      work = new float[logits.length];
    }
    System.arraycopy(logits, 0, work, 0, logits.length);
    float penalty = options.repetitionPenalty();
    if (penalty != 1f) {
      for (int t = seen.nextSetBit(0); t >= 0 && t < work.length; t = seen.nextSetBit(t + 1)) {
        work[t] = work[t] > 0 ? work[t] / penalty : work[t] * penalty;
      }
    }
    return work;
  }

  /** Temperature sampling over what top-k and top-p keep. */
  private int draw(float[] w) {
    int v = w.length;
    int k = options.topK() > 0 ? Math.min(options.topK(), v) : v;
    double invT = 1.0 / options.temperature();
    if (k == v && options.topP() >= 1f) {
      return drawAmong(w, null, v, invT);
    }
    if (options.topP() >= 1f) {
      return drawAmong(w, topIndices(w, k), k, invT);
    }
    if (k < v) {
      int[] kept = topIndices(w, k);
      double max = w[kept[0]];
      double z = 0;
      for (int t : kept) {
        z += Math.exp((w[t] - max) * invT);
      }
      int count = nucleusSize(w, kept, max, z, invT);
      return drawAmong(w, kept, count > 0 ? count : k, invT);
    }
    // Top-p over the whole vocabulary: weigh every token once; a peaked distribution is settled
    // by the 64 most likely tokens, a flat one by the O(V) threshold search.
    double max = w[Logits.argmax(w)];
    if (weights.length != v) {
      weights = new double[v];
    }
    double z = 0;
    for (int i = 0; i < v; i++) {
      z += weights[i] = Math.exp((w[i] - max) * invT);
    }
    int[] kept = topIndices(w, Math.min(NUCLEUS_FIRST_LOOK, v));
    int count = nucleusSize(w, kept, max, z, invT);
    if (count > 0) {
      return drawAmong(w, kept, count, invT);
    }
    return nucleus.draw(weights, v, z, options.topP(), random);
  }

  /** Smallest prefix of {@code kept} whose probability reaches top-p, or 0 if all of them do not. */
  private int nucleusSize(float[] w, int[] kept, double max, double z, double invT) {
    double cumulative = 0;
    for (int i = 0; i < kept.length; i++) {
      cumulative += Math.exp((w[kept[i]] - max) * invT) / z;
      if (cumulative >= options.topP()) {
        return i + 1;
      }
    }
    return 0;
  }

  /** Draws among {@code ids[0..count)} (all of {@code w} when ids is null) with weights exp(w / T). */
  private int drawAmong(float[] w, int[] ids, int count, double invT) {
    float max = Float.NEGATIVE_INFINITY;
    for (int i = 0; i < count; i++) {
      max = Math.max(max, w[ids == null ? i : ids[i]]);
    }
    double total = 0;
    for (int i = 0; i < count; i++) {
      total += Math.exp((w[ids == null ? i : ids[i]] - max) * invT);
    }
    double u = random.nextDouble() * total;
    int last = ids == null ? count - 1 : ids[count - 1];
    for (int i = 0; i < count; i++) {
      int t = ids == null ? i : ids[i];
      u -= Math.exp((w[t] - max) * invT);
      if (u < 0) {
        return t;
      }
    }
    return last; // rounding left a sliver of mass past the end
  }

  /** Indices of the {@code m} largest values, largest first; among equal values the lower index first. */
  static int[] topIndices(float[] x, int m) {
    // Min-heap of the best m so far; its root is the worst of them.
    int[] heap = new int[m];
    int size = 0;
    for (int i = 0; i < x.length; i++) {
      if (size < m) {
        heap[size] = i;
        siftUp(heap, size++, x);
      } else if (better(i, heap[0], x)) {
        heap[0] = i;
        siftDown(heap, size, x);
      }
    }
    int[] out = new int[size];
    for (int i = size - 1; i >= 0; i--) {
      out[i] = heap[0];
      heap[0] = heap[--size];
      siftDown(heap, size, x);
    }
    return out;
  }

  private static boolean better(int a, int b, float[] x) {
    return x[a] > x[b] || (x[a] == x[b] && a < b);
  }

  private static void siftUp(int[] heap, int at, float[] x) {
    while (at > 0) {
      int parent = (at - 1) >>> 1;
      if (!better(heap[parent], heap[at], x)) {
        break;
      }
      swap(heap, parent, at);
      at = parent;
    }
  }

  private static void siftDown(int[] heap, int size, float[] x) {
    int at = 0;
    while (true) {
      int child = 2 * at + 1;
      if (child >= size) {
        return;
      }
      if (child + 1 < size && better(heap[child], heap[child + 1], x)) {
        child++;
      }
      if (!better(heap[at], heap[child], x)) {
        return;
      }
      swap(heap, at, child);
      at = child;
    }
  }

  private static void swap(int[] a, int i, int j) {
    int t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
}
