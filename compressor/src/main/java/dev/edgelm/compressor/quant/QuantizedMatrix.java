package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.ir.Tensor;

/**
 * A weight matrix W [in=K, out=N] on a {@link QuantGrid}, stored output-channel-major: channel n has
 * {@code blocks * blockSize} codes (the tail past K is padding, coded as the block's zero point, i.e.
 * the value 0), {@code blocks} scales and {@code blocks} zero points. This is the order
 * MatMulNBits wants, and the order of an embedding table's rows when W is a tied head Eᵀ.
 *
 * <p>Immutable once built; the arrays are not exposed.
 */
final class QuantizedMatrix {
  final int in;
  final int out;
  final QuantGrid grid;
  final int blocks;
  /** [out][blocks * blockSize]; signed for symmetric grids, 0..2^b-1 otherwise. */
  private final byte[] codes;
  /** [out][blocks]. */
  private final float[] scales;
  /** [out][blocks]; all 0 for symmetric grids. */
  private final int[] zeros;

  QuantizedMatrix(int in, int out, QuantGrid grid, byte[] codes, float[] scales, int[] zeros) {
    this.in = in;
    this.out = out;
    this.grid = grid;
    this.blocks = grid.blocks(in);
    if (codes.length != (long) out * blocks * grid.blockSize() || scales.length != out * blocks || zeros.length != out * blocks) {
      throw new IllegalArgumentException("quantized arrays do not match " + in + "x" + out + " in blocks of " + grid.blockSize());
    }
    this.codes = codes;
    this.scales = scales;
    this.zeros = zeros;
  }

  int paddedIn() {
    return blocks * grid.blockSize();
  }

  float value(int k, int n) {
    int b = n * blocks + k / grid.blockSize();
    return QuantGrid.value(code(k, n), scales[b], zeros[b]);
  }

  int code(int k, int n) {
    return codes[n * paddedIn() + k];
  }

  /** The dequantized matrix [in, out]. */
  Tensor toDense() {
    float[] w = new float[in * out];
    for (int n = 0; n < out; n++) {
      for (int k = 0; k < in; k++) {
        w[k * out + n] = value(k, n);
      }
    }
    return Tensor.of(w, in, out);
  }

  /** Scales [out * blocks], channel-major. */
  float[] scales() {
    return scales.clone();
  }

  /** 4-bit codes packed two per byte, low nibble first: [out][blocks][blockSize / 2] (MatMulNBits' B). */
  byte[] packedNibbles() {
    requireBits(4);
    byte[] packed = new byte[codes.length / 2];
    for (int i = 0; i < packed.length; i++) {
      packed[i] = (byte) ((codes[2 * i] & 0x0f) | ((codes[2 * i + 1] & 0x0f) << 4));
    }
    return packed;
  }

  /** 4-bit zero points packed two per byte, low nibble first: [out][ceil(blocks / 2)] (MatMulNBits' layout). */
  byte[] packedZeroPoints() {
    requireBits(4);
    int per = (blocks + 1) / 2;
    byte[] packed = new byte[out * per];
    for (int n = 0; n < out; n++) {
      for (int b = 0; b < blocks; b++) {
        packed[n * per + b / 2] |= (byte) ((zeros[n * blocks + b] & 0x0f) << (b % 2 == 0 ? 0 : 4));
      }
    }
    return packed;
  }

  /** Signed 8-bit codes in input-major order [in][out] (DynamicQuantizeMatMul's B); needs one block per channel. */
  byte[] inputMajorCodes() {
    requireBits(8);
    if (blocks != 1 || !grid.symmetric()) {
      throw new IllegalStateException("int8 codes are symmetric, one scale per output channel");
    }
    byte[] b = new byte[in * out];
    int stride = paddedIn();
    for (int n = 0; n < out; n++) {
      for (int k = 0; k < in; k++) {
        b[k * out + n] = codes[n * stride + k];
      }
    }
    return b;
  }

  private void requireBits(int bits) {
    if (grid.bits() != bits) {
      throw new IllegalStateException("matrix holds " + grid.bits() + "-bit codes, not " + bits);
    }
  }
}
