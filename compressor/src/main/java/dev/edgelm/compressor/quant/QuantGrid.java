package dev.edgelm.compressor.quant;

/**
 * A quantization grid for one weight matrix W [in=K, out=N]: each output channel is cut along K
 * into blocks of {@code blockSize} inputs (the last may be partial); each block has a scale and a
 * zero point, and a weight is stored as an integer code with value {@code (code - zero) * scale}.
 *
 * <p>Symmetric grids (int8) have codes in [-(2^(b-1)-1), 2^(b-1)-1] and zero 0; asymmetric grids
 * (int4) have codes in [0, 2^b - 1] and a zero point in that range, so the block's range need not
 * be centred on zero.
 */
record QuantGrid(int bits, int blockSize, boolean symmetric) {
  int qmin() {
    return symmetric ? -((1 << (bits - 1)) - 1) : 0;
  }

  int qmax() {
    return symmetric ? (1 << (bits - 1)) - 1 : (1 << bits) - 1;
  }

  /** Blocks per output channel for {@code k} inputs. */
  int blocks(int k) {
    return (k + blockSize - 1) / blockSize;
  }

  /**
   * Fits the scale and zero point of a block whose values span [lo, hi], after shrinking that range
   * by {@code clip} (1 = no clipping). Zero stays representable, as padding and exact zeros need.
   */
  void fit(float lo, float hi, float clip, float[] scales, int[] zeros, int at) {
    if (symmetric) {
      float m = Math.max(Math.abs(lo), Math.abs(hi)) * clip;
      scales[at] = m > 0 ? m / qmax() : 1f;
      zeros[at] = 0;
      return;
    }
    float l = Math.min(lo * clip, 0f);
    float h = Math.max(hi * clip, 0f);
    if (h == l) {
      l = -1f;
      h = 1f;
    }
    float s = (h - l) / (qmax() - qmin());
    scales[at] = s;
    zeros[at] = clamp(Math.round(-l / s));
  }

  int code(float w, float scale, int zero) {
    return clamp((int) Math.rint(w / scale) + zero);
  }

  static float value(int code, float scale, int zero) {
    return (code - zero) * scale;
  }

  private int clamp(int q) {
    return Math.max(qmin(), Math.min(qmax(), q));
  }
}
