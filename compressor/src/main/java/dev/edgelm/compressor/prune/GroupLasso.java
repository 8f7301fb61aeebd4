package dev.edgelm.compressor.prune;

import java.util.Arrays;
import java.util.stream.IntStream;

/**
 * Group-sparse least squares for one consumer matrix: which row groups of W to keep so that
 * {@code tr((W − W')ᵀ G (W − W'))} stays small, and the least-squares refit of the survivors.
 *
 * <p>Design. W is [n, m] with the consumer's input features as rows (for an FFN, the channels feeding
 * {@code mlp.down}, plus a last row for the bias when {@code G} has an intercept column), G = H̃ᵀH̃ / N
 * of that input. The problem {@code min tr((W−W')ᵀG(W−W')) + λ Σ_g γ_g ‖W'_g‖₂} is solved by FISTA: a
 * gradient step {@code 2G(W'−W)/L} with {@code L = 2·λmax(G)} (power iteration), then group soft
 * thresholding {@code W'_g ← max(0, 1 − λγ_g/(L‖W'_g‖))·W'_g}; rows in no group (the intercept) are not
 * penalised. With reweighting, every {@link #REWEIGHT_INTERVAL} iterations γ_g becomes
 * {@code 1/(‖W'_g‖ + 1e-3)} and the momentum restarts — the reweighted group lasso of the block
 * structured pruning paper, which pushes small groups to exactly zero instead of shrinking all. λ is
 * found by bisection (geometric, warm-started) until the number of nonzero groups reaches the keep
 * count; the {@code keep} groups of largest norm at that λ are kept (hard pruning), so the count is
 * exact even when the bisection ends a few groups away.
 *
 * <p>The cost per iteration is one [n, n]·[n, m] product; rows are spread over the common pool.
 * Not thread-safe per instance; instances share nothing.
 */
final class GroupLasso {
  static final int REWEIGHT_INTERVAL = 20;
  static final double GAMMA_EPSILON = 1e-3;
  static final int DEFAULT_ITERATIONS = 40;
  static final int DEFAULT_BISECTIONS = 10;

  private final double[] gram;
  private final double[] target;
  private final double[] gramTarget;
  private final int n;
  private final int m;
  private final int[][] groups;
  private final double lipschitz;
  /** G in float for the FISTA iterations, made on first use. */
  private float[] gramFloat;

  /**
   * @param gram G, [n, n] row-major, symmetric positive definite (damped)
   * @param target W, [n, m] row-major
   * @param groups row ranges {@code {from, to}} that are penalised as groups; other rows are free
   */
  GroupLasso(double[] gram, double[] target, int n, int m, int[][] groups) {
    if (gram.length != n * n || target.length != n * m) {
      throw new IllegalArgumentException("gram must be " + n + "x" + n + " and target " + n + "x" + m);
    }
    this.gram = gram;
    this.target = target;
    this.n = n;
    this.m = m;
    this.groups = groups;
    this.gramTarget = multiply(gram, target, n, m);
    this.lipschitz = 2 * largestEigenvalue(gram, n);
  }

  /** What {@link #solve} found. */
  record Solution(boolean[] kept, double[] weights, double lambda, int rounds, int iterations) {}

  /**
   * Chooses {@code keep} groups.
   *
   * @param reweight refresh γ every {@link #REWEIGHT_INTERVAL} iterations
   */
  Solution solve(int keep, boolean reweight, int iterations, int bisections) {
    if (keep < 0 || keep > groups.length) {
      throw new IllegalArgumentException("keep " + keep + " of " + groups.length + " groups");
    }
    double top = 0;
    for (int[] g : groups) {
      top = Math.max(top, 2 * norm(gramTarget, g));
    }
    double lo = top * 1e-6;
    double hi = top;
    double[] warm = target.clone();
    double[] best = null;
    double bestLambda = lo;
    int bestActive = Integer.MAX_VALUE;
    int total = 0;
    for (int b = 0; b < bisections && top > 0; b++) {
      double lambda = Math.sqrt(lo * hi);
      double[] x = fista(lambda, warm, reweight, iterations);
      total += iterations;
      int active = active(x);
      if (active >= keep && active < bestActive) {
        best = x;
        bestLambda = lambda;
        bestActive = active;
      }
      // Hard pruning keeps the keep largest groups anyway: a support a few groups larger is close
      // enough, and every bisection step saved is a whole FISTA run.
      if (active >= keep && active <= keep + slack()) {
        break;
      }
      if (active > keep) {
        lo = lambda;
        warm = x;
      } else {
        hi = lambda;
      }
    }
    if (best == null) {
      best = target.clone();
      bestLambda = 0;
    }
    boolean[] kept = largest(best, keep);
    int rounds = reweight ? Math.max(1, iterations / REWEIGHT_INTERVAL) : 1;
    return new Solution(kept, best, bestLambda, rounds, total);
  }

  /**
   * FISTA at one λ from {@code start}; γ starts at 1. The iterations run in float on a float copy of
   * G (half the memory traffic of the [n, n]·[n, m] product, twice the SIMD lanes; the selection does
   * not need double precision — the refit and the reported errors are computed in double), and the
   * product skips the rows of the momentum point that are zero (removed groups stay zero).
   */
  double[] fista(double lambda, double[] start, boolean reweight, int iterations) {
    float[] g = gramFloat();
    float[] gw = new float[n * m];
    for (int i = 0; i < gw.length; i++) {
      gw[i] = (float) gramTarget[i];
    }
    double[] gamma = new double[groups.length];
    Arrays.fill(gamma, 1);
    float[] x = new float[n * m];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) start[i];
    }
    float[] y = x.clone();
    float[] z = new float[n * m];
    float[] gy = new float[n * m];
    float step = (float) (2 / lipschitz);
    double t = 1;
    for (int it = 0; it < iterations; it++) {
      multiply(g, y, gy, n, m);
      for (int i = 0; i < z.length; i++) {
        z[i] = y[i] - step * (gy[i] - gw[i]);
      }
      for (int k = 0; k < groups.length; k++) {
        double norm = norm(z, groups[k]);
        float scale = norm == 0 ? 0 : (float) Math.max(0, 1 - lambda * gamma[k] / (lipschitz * norm));
        for (int i = groups[k][0] * m; i < groups[k][1] * m; i++) {
          z[i] *= scale;
        }
      }
      double tNext = (1 + Math.sqrt(1 + 4 * t * t)) / 2;
      float momentum = (float) ((t - 1) / tNext);
      for (int i = 0; i < y.length; i++) {
        y[i] = z[i] + momentum * (z[i] - x[i]);
      }
      float[] swap = x;
      x = z;
      z = swap;
      t = tNext;
      if (reweight && (it + 1) % REWEIGHT_INTERVAL == 0 && it + 1 < iterations) {
        for (int k = 0; k < groups.length; k++) {
          gamma[k] = 1 / (norm(x, groups[k]) + GAMMA_EPSILON);
        }
        System.arraycopy(x, 0, y, 0, y.length);
        t = 1;
      }
    }
    double[] out = new double[n * m];
    for (int i = 0; i < out.length; i++) {
      out[i] = x[i];
    }
    return out;
  }

  private float[] gramFloat() {
    if (gramFloat == null) {
      gramFloat = new float[n * n];
      for (int i = 0; i < gramFloat.length; i++) {
        gramFloat[i] = (float) gram[i];
      }
    }
    return gramFloat;
  }

  private double norm(float[] x, int[] g) {
    double s = 0;
    for (int i = g[0] * m; i < g[1] * m; i++) {
      s += x[i] * x[i];
    }
    return Math.sqrt(s);
  }

  /** {@code c = a·b}, [n, n]·[n, m] in float, rows in parallel; rows of b that are all zero are skipped. */
  static void multiply(float[] a, float[] b, float[] c, int n, int m) {
    int[] live = new int[n];
    int count = 0;
    for (int k = 0; k < n; k++) {
      for (int j = k * m; j < (k + 1) * m; j++) {
        if (b[j] != 0) {
          live[count++] = k;
          break;
        }
      }
    }
    int rows = count;
    IntStream.range(0, n).parallel().forEach(i -> {
      int ci = i * m;
      Arrays.fill(c, ci, ci + m, 0f);
      int ai = i * n;
      for (int r = 0; r < rows; r++) {
        int k = live[r];
        float aik = a[ai + k];
        int bk = k * m;
        for (int j = 0; j < m; j++) {
          c[ci + j] += aik * b[bk + j];
        }
      }
    });
  }

  /** Groups the bisection may leave above the keep count (1/16 of them, none for 15 or fewer). */
  private int slack() {
    return groups.length / 16;
  }

  /** Each group's norm in {@code x}. */
  double[] groupNorms(double[] x) {
    double[] out = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      out[g] = norm(x, groups[g]);
    }
    return out;
  }

  /** Groups whose rows are not all zero. */
  int active(double[] x) {
    int a = 0;
    for (int[] g : groups) {
      if (norm(x, g) > 0) {
        a++;
      }
    }
    return a;
  }

  /** The {@code keep} groups of largest norm in {@code x} (ties: the lower index). */
  boolean[] largest(double[] x, int keep) {
    Integer[] order = new Integer[groups.length];
    double[] norms = new double[groups.length];
    for (int g = 0; g < groups.length; g++) {
      order[g] = g;
      norms[g] = norm(x, groups[g]);
    }
    Arrays.sort(order, (a, b) -> norms[a] != norms[b] ? Double.compare(norms[b], norms[a]) : Integer.compare(a, b));
    boolean[] kept = new boolean[groups.length];
    for (int i = 0; i < keep; i++) {
      kept[order[i]] = true;
    }
    return kept;
  }

  /**
   * The least-squares refit of the rows {@code rows} (the others zero): {@code W'_S = G_SS⁻¹ (G W)_S},
   * the W' that minimises the objective among those supported on S.
   */
  double[] refit(int[] rows) {
    int s = rows.length;
    double[] a = new double[s * s];
    double[] b = new double[s * m];
    for (int i = 0; i < s; i++) {
      for (int j = 0; j < s; j++) {
        a[i * s + j] = gram[rows[i] * n + rows[j]];
      }
      System.arraycopy(gramTarget, rows[i] * m, b, i * m, m);
    }
    double[] solved = Cholesky.solve(a, b, s, m);
    double[] out = new double[n * m];
    for (int i = 0; i < s; i++) {
      System.arraycopy(solved, i * m, out, rows[i] * m, m);
    }
    return out;
  }

  /** {@code tr((W−W')ᵀ G (W−W'))}. */
  double loss(double[] x) {
    return quadratic(gram, target, x, n, m);
  }

  /** {@code tr((W−X)ᵀ G (W−X))} for any G of the same size. */
  static double quadratic(double[] gram, double[] w, double[] x, int n, int m) {
    double[] d = new double[n * m];
    for (int i = 0; i < d.length; i++) {
      d[i] = w[i] - x[i];
    }
    double[] gd = multiply(gram, d, n, m);
    double s = 0;
    for (int i = 0; i < d.length; i++) {
      s += d[i] * gd[i];
    }
    return s;
  }

  private double norm(double[] x, int[] g) {
    double s = 0;
    for (int i = g[0] * m; i < g[1] * m; i++) {
      s += x[i] * x[i];
    }
    return Math.sqrt(s);
  }

  /** [n, n]·[n, m], rows in parallel. */
  static double[] multiply(double[] a, double[] b, int n, int m) {
    double[] c = new double[n * m];
    IntStream.range(0, n).parallel().forEach(i -> {
      int ci = i * m;
      for (int k = 0; k < n; k++) {
        double aik = a[i * n + k];
        if (aik == 0) {
          continue;
        }
        int bk = k * m;
        for (int j = 0; j < m; j++) {
          c[ci + j] += aik * b[bk + j];
        }
      }
    });
    return c;
  }

  private static double largestEigenvalue(double[] a, int n) {
    double[] v = new double[n];
    Arrays.fill(v, 1 / Math.sqrt(n));
    double lambda = 0;
    for (int it = 0; it < 50; it++) {
      double[] w = multiply(a, v, n, 1);
      double norm = 0;
      for (double x : w) {
        norm += x * x;
      }
      norm = Math.sqrt(norm);
      if (norm == 0) {
        return 1;
      }
      for (int i = 0; i < n; i++) {
        v[i] = w[i] / norm;
      }
      lambda = norm;
    }
    return lambda * 1.01; // power iteration approaches from below
  }
}
