package dev.edgelm.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;

/**
 * Preallocated KV-cache rows for a graph whose cache is one shared buffer per layer
 * ({@link DecoderIo#sharedKv()}, GroupQueryAttention): each row is, per layer, a key and a value
 * buffer of {@code [1, kv_heads, capacity, head_dim]} floats (kv_heads per layer: a head-pruned layer keeps fewer) that ONNX Runtime reads as the past and
 * writes as the present of the same call, so a decode step copies no cache.
 *
 * <p>Capacity: a row starts at {@link #INITIAL_CAPACITY} positions (or the context, if shorter) and
 * doubles, up to the context length, when a call would pass it; growing copies each head's
 * positions into the new layout once (amortised O(1) per token). So a short sequence does not hold
 * a whole context's cache (75 MiB for GPT-2 small's 1024 positions), and the JVM's direct-memory
 * limit (by default the heap's maximum) is not spent on positions never used.
 *
 * <p>Each row here is its own block of one slot, for one sequence per call; a batched step
 * ({@link BatchDecoder}) keeps its rows in one {@link KvBlock} {@code [rows, kv_heads, capacity,
 * head_dim]} at a common capacity instead. Released rows are kept for the next sequence (no re-allocation, no
 * re-zeroing: the operator reads only the positions {@code seqlens_k} covers), up to
 * {@link #MAX_IDLE_ROWS}; further ones are dropped to the garbage collector with their direct memory.
 *
 * <p>Threading: {@link #acquire()} and {@link Row#close()} may be called from any thread (they lock
 * the pool; they run once per sequence, not per step). A row is used by one sequence at a time.
 */
final class KvPool implements AutoCloseable {
  static final int MAX_IDLE_ROWS = 2;
  static final int INITIAL_CAPACITY = 128;

  private final OrtEnvironment env;
  private final int layers;
  /** Per layer: a head-pruned model keeps different KV heads in different layers. */
  private final int[] kvHeads;
  private final int headDim;
  private final int maxCapacity;

  private final Object lock = new Object();
  /** Rows released and ready for reuse; guarded by {@code lock}. */
  private final ArrayDeque<Row> idle = new ArrayDeque<>();
  private boolean closed;

  KvPool(OrtEnvironment env, int[] kvHeads, int maxCapacity, int headDim) {
    this.env = env;
    this.layers = kvHeads.length;
    this.kvHeads = kvHeads.clone();
    this.headDim = headDim;
    this.maxCapacity = maxCapacity;
  }

  /** A row for one sequence; close it to give it back. */
  Row acquire() {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("KV pool is closed");
      }
      Row r = idle.poll();
      if (r == null) {
        r = new Row(Math.min(INITIAL_CAPACITY, maxCapacity));
      }
      r.inUse = true;
      return r;
    }
  }

  /** Closes idle rows' tensors now and rows in use when they are released. Idempotent. */
  @Override
  public void close() {
    List<Row> drop;
    synchronized (lock) {
      closed = true;
      drop = new ArrayList<>(idle);
      idle.clear();
    }
    drop.forEach(Row::closeTensors);
  }

  /**
   * One sequence's cache: {@code tensors()[2i]} and {@code [2i + 1]} are layer i's key and value,
   * each {@code [1, kv_heads, capacity(), head_dim]}, past and present of every call. Not
   * thread-safe: its sequence's thread uses it.
   */
  final class Row implements AutoCloseable {
    private ByteBuffer[] buffers;
    private OnnxTensor[] tensors;
    private int capacity;
    private boolean inUse;

    private Row(int capacity) {
      allocate(capacity);
    }

    private void allocate(int positions) {
      long total = 0;
      ByteBuffer[] b = new ByteBuffer[2 * layers];
      OnnxTensor[] t = new OnnxTensor[2 * layers];
      try {
        for (int i = 0; i < b.length; i++) {
          int heads = kvHeads[i / 2];
          int bytes = Math.multiplyExact(Math.multiplyExact(heads, positions), Math.multiplyExact(headDim, Float.BYTES));
          total += bytes;
          b[i] = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
          t[i] = OnnxTensor.createTensor(env, b[i].asFloatBuffer(), new long[] {1, heads, positions, headDim});
        }
      } catch (OrtException | OutOfMemoryError e) {
        for (OnnxTensor x : t) {
          if (x != null) {
            x.close();
          }
        }
        if (e instanceof OutOfMemoryError) {
          throw new RuntimeFailureException("the KV cache of " + positions + " positions needs " + (total >> 20)
              + " MiB of direct memory, which the JVM refused (" + e.getMessage() + "); raise -XX:MaxDirectMemorySize or serve fewer or shorter sequences", e);
        }
        throw new RuntimeFailureException("cannot create KV-cache tensors: " + e.getMessage(), e);
      }
      buffers = b;
      tensors = t;
      capacity = positions;
    }

    OnnxTensor[] tensors() {
      return tensors;
    }

    int capacity() {
      return capacity;
    }

    /**
     * Makes room for {@code positions} (at most the context), keeping the first {@code filled}
     * positions of every head. Returns whether the tensors changed (callers re-bind them).
     */
    boolean ensureCapacity(int positions, int filled) {
      if (positions <= capacity) {
        return false;
      }
      int grown = capacity;
      while (grown < positions) {
        grown = Math.min(maxCapacity, grown * 2);
      }
      ByteBuffer[] old = buffers;
      OnnxTensor[] oldTensors = tensors;
      int oldCapacity = capacity;
      allocate(grown);
      int headBytesOld = oldCapacity * headDim * Float.BYTES;
      int headBytesNew = grown * headDim * Float.BYTES;
      int used = filled * headDim * Float.BYTES;
      for (int i = 0; i < old.length; i++) {
        for (int h = 0; h < kvHeads[i / 2]; h++) {
          buffers[i].put(h * headBytesNew, old[i], h * headBytesOld, used);
        }
      }
      for (OnnxTensor t : oldTensors) {
        t.close();
      }
      return true;
    }

    /** Gives the row back to the pool. Idempotent. */
    @Override
    public void close() {
      boolean drop;
      synchronized (lock) {
        if (!inUse) {
          return;
        }
        inUse = false;
        drop = closed || idle.size() >= MAX_IDLE_ROWS;
        if (!drop) {
          idle.push(this);
        }
      }
      if (drop) {
        closeTensors();
      }
    }

    private void closeTensors() {
      for (OnnxTensor t : tensors) {
        t.close();
      }
    }
  }
}
