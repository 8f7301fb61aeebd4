package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.ir.Tensor;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;

/**
 * Quantizes one weight matrix W [K, N] onto a {@link QuantGrid} by round-to-nearest, by
 * round-to-nearest after a clipping search, or by GPTQ.
 *
 * <p>All three work on independent column chunks of W: every algorithm here treats output
 * channels independently (GPTQ's error feedback runs along the inputs of one channel, never across
 * channels), so a chunk of {@value #CHUNK} columns is copied into a small row-major [K, chunk] array
 * whose rows are contiguous, the inner loops are unit-stride AXPYs the JIT vectorises, and chunks
 * run in parallel without sharing anything mutable (each writes its own columns of the result).
 *
 * <p>The clipping search ({@link #searchClip}) measures the module's <em>output</em> error
 * ‖X·W − X·Ŵ(α)‖² on sampled calibration rows X for each candidate ratio α of the weight range, and
 * keeps the α with the least error over the whole module (or, per output channel, the α with the
 * least error of that channel, which minimises the same module error over a larger family): the
 * calibration counterpart of the paper's module-wise dynamic scaling, where the scale is learned per
 * module during training.
 */
final class MatrixQuantizer {
  static final int CHUNK = 256;
  /** Candidate clipping ratios of the coarse search; the best is then refined by ±{@link #FINE_STEP}. */
  static final float[] COARSE_CLIPS = {1.00f, 0.95f, 0.90f, 0.85f, 0.80f, 0.75f, 0.70f, 0.65f, 0.60f, 0.55f, 0.50f};
  static final float FINE_STEP = 0.025f;
  /** GPTQ's lazy-update block: errors are applied to later rows once per this many rows. */
  static final int GPTQ_BLOCK = 128;

  private final QuantGrid grid;
  private final ExecutorService pool;

  MatrixQuantizer(QuantGrid grid, ExecutorService pool) {
    this.grid = grid;
    this.pool = pool;
  }

  /** Output-channel-major arrays of the result, filled chunk by chunk. */
  private final class Result {
    final int k;
    final int n;
    final int blocks;
    final int padded;
    final byte[] codes;
    final float[] scales;
    final int[] zeros;

    Result(int k, int n) {
      this.k = k;
      this.n = n;
      this.blocks = grid.blocks(k);
      this.padded = blocks * grid.blockSize();
      this.codes = new byte[n * padded];
      this.scales = new float[n * blocks];
      this.zeros = new int[n * blocks];
    }

    QuantizedMatrix build() {
      return new QuantizedMatrix(k, n, grid, codes, scales, zeros);
    }

    /** Codes past K are the zero point: the padding dequantizes to 0. */
    void pad(int col) {
      int z = zeros[col * blocks + blocks - 1];
      for (int i = k; i < padded; i++) {
        codes[col * padded + i] = (byte) z;
      }
    }
  }

  // ---------------------------------------------------------------- round to nearest

  /** Round to nearest, every block's range shrunk by {@code clip[n]} for output channel n. */
  QuantizedMatrix rtn(Tensor w, float[] clip) {
    int k = w.rows();
    int n = w.cols();
    Result r = new Result(k, n);
    int bs = grid.blockSize();
    forEachChunk(n, (c0, c1) -> {
      int cw = c1 - c0;
      float[] wc = chunk(w, c0, c1);
      for (int j = 0; j < cw; j++) {
        int col = c0 + j;
        for (int b = 0; b < r.blocks; b++) {
          int k0 = b * bs;
          int k1 = Math.min(k, k0 + bs);
          int at = col * r.blocks + b;
          fitRows(wc, cw, j, k0, k1, clip[col], r.scales, r.zeros, at);
          for (int i = k0; i < k1; i++) {
            r.codes[col * r.padded + i] = (byte) grid.code(wc[i * cw + j], r.scales[at], r.zeros[at]);
          }
        }
        r.pad(col);
      }
    });
    return r.build();
  }

  QuantizedMatrix rtn(Tensor w, float clip) {
    return rtn(w, filled(w.cols(), clip));
  }

  private void fitRows(float[] wc, int cw, int j, int k0, int k1, float clip, float[] scales, int[] zeros, int at) {
    float lo = Float.POSITIVE_INFINITY;
    float hi = Float.NEGATIVE_INFINITY;
    for (int i = k0; i < k1; i++) {
      float v = wc[i * cw + j];
      lo = Math.min(lo, v);
      hi = Math.max(hi, v);
    }
    grid.fit(lo, hi, clip, scales, zeros, at);
  }

  private static float[] filled(int n, float v) {
    float[] a = new float[n];
    Arrays.fill(a, v);
    return a;
  }

  // ---------------------------------------------------------------- clipping search

  /**
   * The clipping chosen: a ratio per output channel (all equal for {@link ClipScope#MODULE}), and
   * the sampled output error with it and without clipping.
   */
  record Clip(float[] ratios, double error, double unclippedError) {
    float mean() {
      double s = 0;
      for (float r : ratios) {
        s += r;
      }
      return (float) (s / ratios.length);
    }
  }

  /**
   * Chooses clipping ratios α minimising the module's output error ‖X·(W − Ŵ(α))‖², summed over
   * its outputs, for {@code x} [m, K] row-major sampled inputs: a coarse grid of α, then the
   * neighbours of the best. The error is a sum of independent per-channel terms, so with
   * {@link ClipScope#CHANNEL} each channel's own best ratio minimises the module's error exactly.
   *
   * @param weightPenalty weight of the plain weight error ‖w_n − ŵ_n‖² added to each channel's
   *     output error (0 for an ordinary layer; see {@link Quantizer} for a tied embedding)
   */
  Clip searchClip(Tensor w, float[] x, int m, ClipScope scope, double weightPenalty) {
    int n = w.cols();
    double[][] coarse = new double[COARSE_CLIPS.length][];
    for (int c = 0; c < COARSE_CLIPS.length; c++) {
      coarse[c] = columnErrors(w, x, m, filled(n, COARSE_CLIPS[c]), weightPenalty);
    }
    float[] best = new float[n];
    double[] bestErr = new double[n];
    if (scope == ClipScope.MODULE) {
      int c = argmin(Arrays.stream(coarse).mapToDouble(MatrixQuantizer::sum).toArray());
      Arrays.fill(best, COARSE_CLIPS[c]);
      System.arraycopy(coarse[c], 0, bestErr, 0, n);
    } else {
      for (int j = 0; j < n; j++) {
        int c = 0;
        for (int t = 1; t < COARSE_CLIPS.length; t++) {
          if (coarse[t][j] < coarse[c][j]) {
            c = t;
          }
        }
        best[j] = COARSE_CLIPS[c];
        bestErr[j] = coarse[c][j];
      }
    }
    float[] chosen = best.clone();
    for (float step : new float[] {-FINE_STEP, FINE_STEP}) {
      float[] candidate = new float[n];
      for (int j = 0; j < n; j++) {
        candidate[j] = Math.min(1f, best[j] + step);
      }
      double[] e = columnErrors(w, x, m, candidate, weightPenalty);
      if (scope == ClipScope.MODULE) {
        if (sum(e) < sum(bestErr)) {
          chosen = candidate;
          bestErr = e;
        }
      } else {
        for (int j = 0; j < n; j++) {
          if (e[j] < bestErr[j]) {
            bestErr[j] = e[j];
            chosen[j] = candidate[j];
          }
        }
      }
    }
    return new Clip(chosen, sum(bestErr), sum(coarse[0]));
  }

  private static double sum(double[] v) {
    double s = 0;
    for (double d : v) {
      s += d;
    }
    return s;
  }

  private static int argmin(double[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] < v[best]) {
        best = i;
      }
    }
    return best;
  }

  /**
   * Sampled output error ‖X·(w_n − ŵ_n)‖² of each output channel n when quantized with
   * {@code clip[n]}, plus {@code weightPenalty}·‖w_n − ŵ_n‖².
   */
  double[] columnErrors(Tensor w, float[] x, int m, float[] clip, double weightPenalty) {
    int k = w.rows();
    int n = w.cols();
    double[] errors = new double[n];
    forEachChunk(n, (c0, c1) -> {
      float[] wc = chunk(w, c0, c1);
      int cw = c1 - c0;
      float[] residual = new float[k * cw];
      float[] row = new float[cw];
      float[] scales = new float[1];
      int[] zeros = new int[1];
      int bs = grid.blockSize();
      for (int j = 0; j < cw; j++) {
        for (int k0 = 0; k0 < k; k0 += bs) {
          int k1 = Math.min(k, k0 + bs);
          fitRows(wc, cw, j, k0, k1, clip[c0 + j], scales, zeros, 0);
          for (int i = k0; i < k1; i++) {
            float v = wc[i * cw + j];
            float d = v - QuantGrid.value(grid.code(v, scales[0], zeros[0]), scales[0], zeros[0]);
            residual[i * cw + j] = d;
            errors[c0 + j] += weightPenalty * d * d;
          }
        }
      }
      for (int r = 0; r < m; r++) {
        Arrays.fill(row, 0f);
        int xr = r * k;
        for (int i = 0; i < k; i++) {
          float a = x[xr + i];
          if (a != 0f) {
            axpy(a, residual, i * cw, row, 0, cw);
          }
        }
        for (int j = 0; j < cw; j++) {
          errors[c0 + j] += (double) row[j] * row[j];
        }
      }
    });
    return errors;
  }

  // ---------------------------------------------------------------- GPTQ

  /**
   * GPTQ (Frantar et al., 2022): quantizes the rows of W (inputs) one at a time and spreads each
   * row's rounding error over the rows not yet quantized, weighted by the inverse Hessian of the
   * layer's output error, so that X·Ŵ stays close to X·W. Errors are applied lazily, once per
   * block of {@value #GPTQ_BLOCK} rows. Without act-order, block scales and zero points are fitted
   * when their first row is reached, from the weights as updated so far; with act-order (rows
   * visited by decreasing Hessian diagonal) they are fitted from the original weights up front, so
   * blocks stay contiguous along K as the runtime's layout requires.
   */
  QuantizedMatrix gptq(Tensor w, Hessian h) {
    int k = w.rows();
    int n = w.cols();
    if (h.size() != k) {
      throw new IllegalArgumentException("Hessian of size " + h.size() + " for a matrix with " + k + " inputs");
    }
    Result r = new Result(k, n);
    int bs = grid.blockSize();
    int[] perm = h.order();
    float[] u = h.inverseCholesky();
    forEachChunk(n, (c0, c1) -> {
      int cw = c1 - c0;
      float[] original = chunk(w, c0, c1);
      float[] wc = new float[k * cw];
      for (int i = 0; i < k; i++) {
        int src = perm[i];
        if (h.dead(src)) {
          continue; // an input that never fires: its weights are irrelevant and set to 0
        }
        System.arraycopy(original, src * cw, wc, i * cw, cw);
      }
      float[] scales = new float[r.blocks * cw];
      int[] zeros = new int[r.blocks * cw];
      boolean staticGroups = h.actOrder();
      if (staticGroups) {
        for (int j = 0; j < cw; j++) {
          for (int b = 0; b < r.blocks; b++) {
            fitRows(original, cw, j, b * bs, Math.min(k, b * bs + bs), 1f, scales, zeros, b * cw + j);
          }
        }
      }
      byte[] codes = new byte[k * cw];
      float[] err = new float[GPTQ_BLOCK * cw];
      for (int b0 = 0; b0 < k; b0 += GPTQ_BLOCK) {
        int b1 = Math.min(k, b0 + GPTQ_BLOCK);
        for (int i = b0; i < b1; i++) {
          int src = perm[i];
          int group = src / bs;
          if (!staticGroups && src % bs == 0) {
            int end = Math.min(k, src + bs); // natural order: rows src..end are i..i+(end-src)
            for (int j = 0; j < cw; j++) {
              fitRows(wc, cw, j, i, i + (end - src), 1f, scales, zeros, group * cw + j);
            }
          }
          float d = u[i * k + i];
          int e = (i - b0) * cw;
          for (int j = 0; j < cw; j++) {
            float v = wc[i * cw + j];
            float s = scales[group * cw + j];
            int z = zeros[group * cw + j];
            int q = grid.code(v, s, z);
            codes[i * cw + j] = (byte) q;
            err[e + j] = (v - QuantGrid.value(q, s, z)) / d;
          }
          for (int t = i + 1; t < b1; t++) {
            float f = u[i * k + t];
            if (f != 0f) {
              axpy(-f, err, e, wc, t * cw, cw);
            }
          }
        }
        for (int t = b1; t < k; t++) {
          for (int i = b0; i < b1; i++) {
            float f = u[i * k + t];
            if (f != 0f) {
              axpy(-f, err, (i - b0) * cw, wc, t * cw, cw);
            }
          }
        }
      }
      for (int j = 0; j < cw; j++) {
        int col = c0 + j;
        for (int b = 0; b < r.blocks; b++) {
          r.scales[col * r.blocks + b] = scales[b * cw + j];
          r.zeros[col * r.blocks + b] = zeros[b * cw + j];
        }
        for (int i = 0; i < k; i++) {
          r.codes[col * r.padded + perm[i]] = codes[i * cw + j];
        }
        r.pad(col);
      }
    });
    return r.build();
  }

  // ---------------------------------------------------------------- helpers

  private static void axpy(float a, float[] x, int xOff, float[] y, int yOff, int len) {
    for (int i = 0; i < len; i++) {
      y[yOff + i] += a * x[xOff + i];
    }
  }

  /** Columns [c0, c1) of W as a row-major [K, c1 - c0] array. */
  private static float[] chunk(Tensor w, int c0, int c1) {
    int k = w.rows();
    int n = w.cols();
    int cw = c1 - c0;
    float[] data = w.data();
    float[] out = new float[k * cw];
    for (int i = 0; i < k; i++) {
      System.arraycopy(data, i * n + c0, out, i * cw, cw);
    }
    return out;
  }

  @FunctionalInterface
  private interface ChunkTask {
    void run(int c0, int c1);
  }

  private void forEachChunk(int n, ChunkTask task) {
    List<Future<?>> futures = new ArrayList<>();
    for (int c0 = 0; c0 < n; c0 += CHUNK) {
      int from = c0;
      int to = Math.min(n, c0 + CHUNK);
      futures.add(pool.submit(() -> task.run(from, to)));
    }
    try {
      for (Future<?> f : futures) {
        f.get();
      }
    } catch (InterruptedException e) {
      futures.forEach(f -> f.cancel(true));
      Thread.currentThread().interrupt();
      throw new IllegalStateException("quantization interrupted", e);
    } catch (ExecutionException e) {
      futures.forEach(f -> f.cancel(true));
      if (e.getCause() instanceof RuntimeException re) {
        throw re;
      }
      throw new IllegalStateException(e.getCause());
    }
  }
}
