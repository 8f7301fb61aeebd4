package dev.edgelm.compressor.ir;

import java.util.Arrays;

/**
 * A dense fp32 tensor in row-major order. The IR keeps every weight it has not compressed this way.
 *
 * <p>Tensors are treated as immutable once built: transforms return new tensors. The backing array
 * is exposed ({@link #data()}) for speed; callers must not modify a tensor they did not create.
 */
public final class Tensor {
  private final int[] shape;
  private final float[] data;

  private Tensor(int[] shape, float[] data) {
    this.shape = shape;
    this.data = data;
  }

  /** Wraps {@code data} (not copied) as a tensor of {@code shape}. */
  public static Tensor of(float[] data, int... shape) {
    long n = numel(shape);
    if (n != data.length) {
      throw new IllegalArgumentException(
          "shape " + Arrays.toString(shape) + " holds " + n + " values, data has " + data.length);
    }
    return new Tensor(shape.clone(), data);
  }

  public static Tensor zeros(int... shape) {
    return new Tensor(shape.clone(), new float[Math.toIntExact(numel(shape))]);
  }

  public static Tensor filled(float value, int... shape) {
    Tensor t = zeros(shape);
    Arrays.fill(t.data, value);
    return t;
  }

  static long numel(int[] shape) {
    long n = 1;
    for (int d : shape) {
      if (d < 0) {
        throw new IllegalArgumentException("negative dimension in " + Arrays.toString(shape));
      }
      n *= d;
    }
    return n;
  }

  public int[] shape() {
    return shape.clone();
  }

  public int rank() {
    return shape.length;
  }

  public int dim(int axis) {
    return shape[axis];
  }

  public int size() {
    return data.length;
  }

  /** The backing array, row-major. Do not modify a tensor you did not create. */
  public float[] data() {
    return data;
  }

  /** Rows of a rank-2 tensor. */
  public int rows() {
    requireRank2();
    return shape[0];
  }

  /** Columns of a rank-2 tensor. */
  public int cols() {
    requireRank2();
    return shape[1];
  }

  public float get(int row, int col) {
    return data[row * shape[1] + col];
  }

  /** The transpose of a rank-2 tensor, as a new tensor. */
  public Tensor transpose() {
    requireRank2();
    return new Tensor(new int[] {shape[1], shape[0]}, transpose(data, shape[0], shape[1]));
  }

  /** The transpose of a row-major {@code [r×c]} matrix, as a new {@code [c×r]} one. */
  public static float[] transpose(float[] a, int r, int c) {
    float[] out = new float[a.length];
    // Blocked so both sides stay in cache for large matrices.
    final int block = 64;
    for (int i0 = 0; i0 < r; i0 += block) {
      int i1 = Math.min(r, i0 + block);
      for (int j0 = 0; j0 < c; j0 += block) {
        int j1 = Math.min(c, j0 + block);
        for (int i = i0; i < i1; i++) {
          int rowBase = i * c;
          for (int j = j0; j < j1; j++) {
            out[j * r + i] = a[rowBase + j];
          }
        }
      }
    }
    return out;
  }

  /** Columns {@code [from, to)} of a rank-2 tensor. */
  public Tensor columns(int from, int to) {
    requireRank2();
    int r = shape[0];
    int c = shape[1];
    if (from < 0 || to > c || from > to) {
      throw new IllegalArgumentException("columns [" + from + ", " + to + ") outside 0.." + c);
    }
    int w = to - from;
    float[] out = new float[r * w];
    for (int i = 0; i < r; i++) {
      System.arraycopy(data, i * c + from, out, i * w, w);
    }
    return new Tensor(new int[] {r, w}, out);
  }

  /** Rows {@code [from, to)} of a rank-2 tensor (or elements of a rank-1 tensor). */
  public Tensor rowsRange(int from, int to) {
    int rowWidth = rank() == 1 ? 1 : data.length / Math.max(1, shape[0]);
    if (from < 0 || to > shape[0] || from > to) {
      throw new IllegalArgumentException("rows [" + from + ", " + to + ") outside 0.." + shape[0]);
    }
    float[] out = Arrays.copyOfRange(data, from * rowWidth, to * rowWidth);
    int[] s = shape.clone();
    s[0] = to - from;
    return new Tensor(s, out);
  }

  /** Rank-2 tensors side by side: all have the same rows; columns add up. */
  public static Tensor concatColumns(Tensor... parts) {
    int r = parts[0].rows();
    int total = 0;
    for (Tensor p : parts) {
      if (p.rows() != r) {
        throw new IllegalArgumentException("cannot concatenate columns of tensors with " + r + " and " + p.rows() + " rows");
      }
      total += p.cols();
    }
    float[] out = new float[r * total];
    int offset = 0;
    for (Tensor p : parts) {
      int w = p.cols();
      for (int i = 0; i < r; i++) {
        System.arraycopy(p.data, i * w, out, i * total + offset, w);
      }
      offset += w;
    }
    return new Tensor(new int[] {r, total}, out);
  }

  /** Rank-1 tensors end to end. */
  public static Tensor concat1d(Tensor... parts) {
    int total = 0;
    for (Tensor p : parts) {
      if (p.rank() != 1) {
        throw new IllegalArgumentException("concat1d needs rank-1 tensors");
      }
      total += p.size();
    }
    float[] out = new float[total];
    int offset = 0;
    for (Tensor p : parts) {
      System.arraycopy(p.data, 0, out, offset, p.size());
      offset += p.size();
    }
    return new Tensor(new int[] {total}, out);
  }

  /** The same data seen with another shape of the same element count. */
  public Tensor reshape(int... newShape) {
    return of(data, newShape);
  }

  private void requireRank2() {
    if (shape.length != 2) {
      throw new IllegalStateException("expected a matrix, shape is " + Arrays.toString(shape));
    }
  }

  @Override
  public String toString() {
    return "Tensor" + Arrays.toString(shape);
  }
}
