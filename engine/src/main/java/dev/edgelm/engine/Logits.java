package dev.edgelm.engine;

/** Arithmetic on one row of logits, in double precision where it sums. */
final class Logits {
  private Logits() {}

  /** log(sum(exp(x))), shifted by the maximum so it neither overflows nor underflows. */
  static double logSumExp(float[] x) {
    float max = Float.NEGATIVE_INFINITY;
    for (float v : x) {
      max = Math.max(max, v);
    }
    double sum = 0;
    for (float v : x) {
      sum += Math.exp(v - (double) max);
    }
    return max + Math.log(sum);
  }

  /** Index of the largest value; the lowest index among ties. */
  static int argmax(float[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }
}
