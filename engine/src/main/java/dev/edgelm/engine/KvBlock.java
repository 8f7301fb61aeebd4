package dev.edgelm.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;

/**
 * The KV cache of a {@link BatchDecoder}: per layer, one key and one value buffer of {@code [rows,
 * kv_heads, capacity, head_dim]} floats (kv_heads per layer: a head-pruned layer keeps fewer), rows outermost, so any run of consecutive rows is one
 * contiguous tensor (a view, no copy) that GroupQueryAttention reads as past and writes as present
 * in place — a batched step over rows {@code [first, first + count)} and a prefill over one row use
 * the same memory.
 *
 * <p>Capacity is common to all rows (one tensor shape): it starts at {@link KvPool#INITIAL_CAPACITY}
 * (or the context, if shorter) and doubles, up to the context, when a call would pass it; growing
 * copies each row's filled positions into the new layout once (amortised O(1) per token, as
 * {@link KvPool.Row#ensureCapacity} does for one row).
 *
 * <p>Views are cached: the single-row views (prefill) and the last multi-row span (decode steps
 * over a stable set of rows), so a step creates no tensor for its cache. Growth closes them.
 *
 * <p>Not thread-safe: its batch's thread uses it.
 */
final class KvBlock implements AutoCloseable {
  private final OrtEnvironment env;
  private final int[] kvHeads;
  private final int headDim;
  private final int rows;
  private final int maxCapacity;
  private int capacity;
  /** {@code buffers[2i]} and {@code [2i + 1]}: layer i's keys and values, all rows. */
  private ByteBuffer[] buffers;
  private OnnxTensor[][] rowViews;
  private OnnxTensor[] spanView;
  private int spanFirst = -1;
  private int spanCount;

  KvBlock(OrtEnvironment env, int[] kvHeads, int headDim, int rows, int maxCapacity) {
    this.env = env;
    this.kvHeads = kvHeads.clone();
    this.headDim = headDim;
    this.rows = rows;
    this.maxCapacity = maxCapacity;
    this.buffers = allocate(Math.min(KvPool.INITIAL_CAPACITY, maxCapacity));
  }

  private ByteBuffer[] allocate(int positions) {
    long total = 0;
    for (int heads : kvHeads) {
      long bytes = (long) rows * heads * positions * headDim * Float.BYTES;
      if (bytes > Integer.MAX_VALUE) {
        throw new RuntimeFailureException("a KV block of " + rows + " rows x " + positions + " positions needs " + (bytes >> 20)
            + " MiB per layer, over the 2 GiB a buffer holds; use fewer rows (max_batch)");
      }
      total += 2 * bytes;
    }
    ByteBuffer[] b = new ByteBuffer[2 * kvHeads.length];
    try {
      for (int i = 0; i < b.length; i++) {
        b[i] = ByteBuffer.allocateDirect(rows * kvHeads[i / 2] * positions * headDim * Float.BYTES).order(ByteOrder.nativeOrder());
      }
    } catch (OutOfMemoryError e) {
      throw new RuntimeFailureException("the KV cache of " + rows + " rows x " + positions + " positions needs "
          + (total >> 20) + " MiB of direct memory, which the JVM refused (" + e.getMessage()
          + "); raise -XX:MaxDirectMemorySize or use fewer rows (max_batch)", e);
    }
    capacity = positions;
    return b;
  }

  int capacity() {
    return capacity;
  }

  int maxCapacity() {
    return maxCapacity;
  }

  int rows() {
    return rows;
  }

  /** Floats one position of one row holds over all layers, keys and values. */
  int floatsPerPosition() {
    int heads = 0;
    for (int h : kvHeads) {
      heads += h;
    }
    return 2 * heads * headDim;
  }

  /** Bytes the block holds now (all rows at the current capacity). */
  long bytes() {
    long bytes = 0;
    for (ByteBuffer b : buffers) {
      bytes += b.capacity();
    }
    return bytes;
  }

  /**
   * Makes room for {@code positions} (at most the context) in every row, keeping the first
   * {@code filled[r]} positions of row r.
   */
  void ensureCapacity(int positions, int[] filled) {
    if (positions <= capacity) {
      return;
    }
    if (positions > maxCapacity) {
      throw new IllegalArgumentException(positions + " positions exceed the KV block's most, " + maxCapacity);
    }
    int grown = capacity;
    while (grown < positions) {
      grown = Math.min(maxCapacity, grown * 2);
    }
    int oldCapacity = capacity;
    ByteBuffer[] old = buffers;
    ByteBuffer[] next = allocate(grown);
    for (int i = 0; i < old.length; i++) {
      int heads = kvHeads[i / 2];
      for (int r = 0; r < rows; r++) {
        for (int h = 0; h < heads; h++) {
          next[i].put(offset(heads, r, h, 0, grown), old[i], offset(heads, r, h, 0, oldCapacity), filled[r] * headDim * Float.BYTES);
        }
      }
    }
    buffers = next;
    closeViews();
  }

  /** Byte offset of position {@code t} of head {@code h} of row {@code r} at capacity {@code cap}, in a layer of {@code heads} KV heads. */
  private int offset(int heads, int r, int h, int t, int cap) {
    return ((r * heads + h) * cap + t) * headDim * Float.BYTES;
  }

  /** Tensors {@code [count, kv_heads, capacity, head_dim]} over rows {@code [first, first + count)}, key then value per layer; owned by the block. */
  OnnxTensor[] view(int first, int count) {
    if (count == 1) {
      if (rowViews == null) {
        rowViews = new OnnxTensor[rows][];
      }
      if (rowViews[first] == null) {
        rowViews[first] = createView(first, 1);
      }
      return rowViews[first];
    }
    if (spanFirst != first || spanCount != count) {
      closeAll(spanView);
      spanView = null;
      spanView = createView(first, count);
      spanFirst = first;
      spanCount = count;
    }
    return spanView;
  }

  private OnnxTensor[] createView(int first, int count) {
    OnnxTensor[] t = new OnnxTensor[buffers.length];
    try {
      for (int i = 0; i < t.length; i++) {
        int heads = kvHeads[i / 2];
        int rowBytes = heads * capacity * headDim * Float.BYTES;
        FloatBuffer f = buffers[i].slice(first * rowBytes, count * rowBytes).order(ByteOrder.nativeOrder()).asFloatBuffer();
        t[i] = OnnxTensor.createTensor(env, f, new long[] {count, heads, capacity, headDim});
      }
      return t;
    } catch (OrtException e) {
      closeAll(t);
      throw new RuntimeFailureException("cannot create KV-cache tensors: " + e.getMessage(), e);
    }
  }

  /** Copies positions {@code [0, count)} of row {@code from} into row {@code to} (every layer and head). */
  void copyPositions(int from, int to, int count) {
    int bytes = count * headDim * Float.BYTES;
    for (int i = 0; i < buffers.length; i++) {
      int heads = kvHeads[i / 2];
      for (int h = 0; h < heads; h++) {
        buffers[i].put(offset(heads, to, h, 0, capacity), buffers[i], offset(heads, from, h, 0, capacity), bytes);
      }
    }
  }

  /**
   * Reads positions {@code [from, from + count)} of row {@code r} into {@code out}, laid out per
   * buffer (layer key, layer value, …), per head, position-major: {@link #floatsPerPosition()} ×
   * count floats.
   */
  void read(int r, int from, int count, float[] out) {
    int n = count * headDim;
    int at = 0;
    for (int i = 0; i < buffers.length; i++) {
      FloatBuffer f = buffers[i].asFloatBuffer();
      int heads = kvHeads[i / 2];
      for (int h = 0; h < heads; h++) {
        f.get(offset(heads, r, h, from, capacity) / Float.BYTES, out, at, n);
        at += n;
      }
    }
  }

  /** Writes what {@link #read} produced back at positions {@code [from, from + count)} of row {@code r}. */
  void write(int r, int from, int count, float[] in) {
    int n = count * headDim;
    int at = 0;
    for (int i = 0; i < buffers.length; i++) {
      FloatBuffer f = buffers[i].asFloatBuffer();
      int heads = kvHeads[i / 2];
      for (int h = 0; h < heads; h++) {
        f.put(offset(heads, r, h, from, capacity) / Float.BYTES, in, at, n);
        at += n;
      }
    }
  }

  private void closeViews() {
    if (rowViews != null) {
      for (OnnxTensor[] v : rowViews) {
        closeAll(v);
      }
      rowViews = null;
    }
    closeAll(spanView);
    spanView = null;
    spanFirst = -1;
  }

  private static void closeAll(OnnxTensor[] tensors) {
    if (tensors != null) {
      for (OnnxTensor t : tensors) {
        if (t != null) {
          t.close();
        }
      }
    }
  }

  @Override
  public void close() {
    closeViews();
  }
}
