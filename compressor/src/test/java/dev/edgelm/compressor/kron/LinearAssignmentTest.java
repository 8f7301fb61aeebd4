package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class LinearAssignmentTest {
  @ParameterizedTest
  @ValueSource(ints = {1, 2, 3, 4, 5, 6, 7})
  void solve_matchesBruteForceOnSmallProblems(int n) {
    SplittableRandom random = new SplittableRandom(n);
    for (int trial = 0; trial < 50; trial++) {
      double[] cost = new double[n * n];
      for (int i = 0; i < cost.length; i++) {
        // Small integers make ties common, which is where assignment codes go wrong.
        cost[i] = trial % 2 == 0 ? random.nextInt(5) : random.nextDouble() * 100 - 50;
      }
      int[] x = LinearAssignment.solve(cost, n);
      assertPermutation(x);
      assertEquals(bruteForce(cost, n), total(cost, n, x), 1e-9, "trial " + trial);
    }
  }

  @Test
  void solve_largeRandomProblemIsOptimalByLocalSwaps() {
    int n = 300;
    SplittableRandom random = new SplittableRandom(7);
    double[] cost = new double[n * n];
    for (int i = 0; i < cost.length; i++) {
      cost[i] = random.nextDouble();
    }
    int[] x = LinearAssignment.solve(cost, n);
    assertPermutation(x);
    // No exchange of two rows' columns can lower an optimal assignment's cost.
    for (int a = 0; a < n; a++) {
      for (int b = a + 1; b < n; b++) {
        double now = cost[a * n + x[a]] + cost[b * n + x[b]];
        double swapped = cost[a * n + x[b]] + cost[b * n + x[a]];
        assertTrue(swapped >= now - 1e-12, "swapping rows " + a + " and " + b + " lowers the cost");
      }
    }
  }

  @Test
  void solve_recoversAHiddenPermutationFromSimilarities() {
    int n = 512;
    SplittableRandom random = new SplittableRandom(3);
    int[] hidden = randomPermutation(n, random);
    double[] cost = new double[n * n];
    for (int i = 0; i < n; i++) {
      for (int j = 0; j < n; j++) {
        cost[i * n + j] = j == hidden[i] ? -1 : random.nextDouble() * 0.5;
      }
    }
    assertArrayEquals(hidden, LinearAssignment.solve(cost, n));
  }

  @Test
  void solve_allEqualCostsGivesAPermutation() {
    int n = 64;
    assertPermutation(LinearAssignment.solve(new double[n * n], n));
  }

  static int[] randomPermutation(int n, SplittableRandom random) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    for (int i = n - 1; i > 0; i--) {
      int j = random.nextInt(i + 1);
      int t = p[i];
      p[i] = p[j];
      p[j] = t;
    }
    return p;
  }

  private static void assertPermutation(int[] x) {
    boolean[] seen = new boolean[x.length];
    for (int v : x) {
      assertTrue(v >= 0 && v < x.length && !seen[v], "not a permutation");
      seen[v] = true;
    }
  }

  private static double total(double[] cost, int n, int[] x) {
    double s = 0;
    for (int i = 0; i < n; i++) {
      s += cost[i * n + x[i]];
    }
    return s;
  }

  private static double bruteForce(double[] cost, int n) {
    int[] p = new int[n];
    for (int i = 0; i < n; i++) {
      p[i] = i;
    }
    return permute(cost, n, p, 0);
  }

  private static double permute(double[] cost, int n, int[] p, int k) {
    if (k == n) {
      return total(cost, n, p);
    }
    double best = Double.POSITIVE_INFINITY;
    for (int i = k; i < n; i++) {
      swap(p, k, i);
      best = Math.min(best, permute(cost, n, p, k + 1));
      swap(p, k, i);
    }
    return best;
  }

  private static void swap(int[] p, int a, int b) {
    int t = p[a];
    p[a] = p[b];
    p[b] = t;
  }
}
