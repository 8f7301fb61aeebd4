package dev.edgelm.engine;

import java.util.SplittableRandom;

/**
 * Top-p (nucleus) draws over a whole vocabulary in expected O(V), for distributions too flat for the
 * sampler's first look at the 64 most likely tokens.
 *
 * <p>The nucleus is the smallest set of most likely tokens whose mass reaches p; among equal weights
 * the lower ids come first (as {@link Sampler}'s ordering does). It is found without sorting: a
 * three-way quickselect on the weights narrows to the one weight {@code tau} at which the cumulative
 * mass crosses p, and how many tokens of weight exactly {@code tau} are needed. The draw then walks
 * the vocabulary in id order over the tokens kept (weight above {@code tau}, or equal to it among the
 * first ones needed) — the same distribution a sorted walk gives, in a different order, so a given
 * seed can draw a different token than a sorted walk would.
 *
 * <p>Not thread-safe: it reuses its scratch array between calls (one per sampler).
 */
final class Nucleus {
  private double[] scratch = new double[0];

  /**
   * Draws an id with probability proportional to {@code weights[id]} among the nucleus of mass
   * {@code p} of {@code total} (the sum of all weights).
   */
  int draw(double[] weights, int count, double total, double p, SplittableRandom random) {
    Cut cut = cut(weights, count, total * p);
    double kept = 0;
    int ties = cut.ties();
    for (int i = 0; i < count; i++) {
      double x = weights[i];
      if (x > cut.tau() || (x == cut.tau() && ties-- > 0)) {
        kept += x;
      }
    }
    double u = random.nextDouble() * kept;
    ties = cut.ties();
    int last = -1;
    for (int i = 0; i < count; i++) {
      double x = weights[i];
      if (x > cut.tau() || (x == cut.tau() && ties-- > 0)) {
        last = i;
        u -= x;
        if (u < 0) {
          return i;
        }
      }
    }
    return last; // rounding left a sliver of mass past the end
  }

  /** Every weight above {@code tau} is kept, and the first {@code ties} weights equal to it. */
  record Cut(double tau, int ties) {}

  /** Where the cumulative mass of the largest weights first reaches {@code need}. */
  Cut cut(double[] weights, int count, double need) {
    if (scratch.length < count) {
      scratch = new double[count];
    }
    double[] a = scratch;
    System.arraycopy(weights, 0, a, 0, count);
    int lo = 0;
    int hi = count;
    while (lo < hi) {
      double pivot = medianOfThree(a[lo], a[lo + (hi - lo) / 2], a[hi - 1]);
      // Three-way partition of a[lo, hi): [> pivot][== pivot][< pivot].
      int gt = lo;
      int i = lo;
      int lt = hi;
      double above = 0;
      while (i < lt) {
        double x = a[i];
        if (x > pivot) {
          above += x;
          a[i++] = a[gt];
          a[gt++] = x;
        } else if (x < pivot) {
          a[i] = a[--lt];
          a[lt] = x;
        } else {
          i++;
        }
      }
      int equal = lt - gt;
      if (above >= need && gt > lo) {
        hi = gt; // the crossing lies among the larger weights
      } else if (above + equal * pivot >= need || lt == hi) {
        int ties = pivot > 0 ? (int) Math.ceil((need - above) / pivot) : equal;
        return new Cut(pivot, Math.max(1, Math.min(equal, ties)));
      } else {
        need -= above + equal * pivot; // everything down to the pivot is in; look below it
        lo = lt;
      }
    }
    return new Cut(Double.NEGATIVE_INFINITY, 0); // rounding never reached p: keep everything
  }

  private static double medianOfThree(double a, double b, double c) {
    return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
  }
}
