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
 * region of {@code [kv_heads, capacity, head_dim]} floats that ONNX Runtime reads as the past and
 * writes as the present of the same call, so a decode step copies no cache.
 *
 * <p>Design for batching: memory comes in blocks of {@code slotsPerBlock} rows, one direct buffer
 * per layer and K/V laid out as {@code [slots, kv_heads, capacity, head_dim]}, so a batched step can
 * later pass a whole block as one {@code [slots, …]} tensor; a {@link Row} is one slot's
 * {@code [1, …]} view of every layer. Today a sequence takes one row and blocks hold one slot.
 * Released rows are kept for the next sequence (no re-allocation, no re-zeroing: the operator reads
 * only the positions {@code seqlens_k} covers), up to {@link #MAX_IDLE_ROWS}; further ones are dropped
 * to the garbage collector with their direct memory.
 *
 * <p>Threading: {@link #acquire()} and {@link Row#close()} may be called from any thread (they lock
 * the pool; they run once per sequence, not per step). A row is used by one sequence at a time.
 */
final class KvPool implements AutoCloseable {
  static final int MAX_IDLE_ROWS = 2;

  private final OrtEnvironment env;
  private final int layers;
  private final long[] rowShape;
  private final int rowBytes;
  private final int slotsPerBlock;

  private final Object lock = new Object();
  /** Rows released and ready for reuse; guarded by {@code lock}. */
  private final ArrayDeque<Row> idle = new ArrayDeque<>();
  /** Free slots of the newest block, not yet handed out; guarded by {@code lock}. */
  private final ArrayDeque<Row> unused = new ArrayDeque<>();
  private boolean closed;

  KvPool(OrtEnvironment env, int layers, int kvHeads, int capacity, int headDim, int slotsPerBlock) {
    this.env = env;
    this.layers = layers;
    this.rowShape = new long[] {1, kvHeads, capacity, headDim};
    this.rowBytes = Math.multiplyExact(Math.multiplyExact(kvHeads, capacity), Math.multiplyExact(headDim, Float.BYTES));
    this.slotsPerBlock = slotsPerBlock;
  }

  /** Bytes of one row (every layer's keys and values). */
  long rowBytes() {
    return 2L * layers * rowBytes;
  }

  /** A row for one sequence; close it to give it back. */
  Row acquire() {
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException("KV pool is closed");
      }
      Row r = idle.poll();
      if (r == null) {
        if (unused.isEmpty()) {
          allocateBlock();
        }
        r = unused.poll();
      }
      r.inUse = true;
      return r;
    }
  }

  private void allocateBlock() {
    ByteBuffer[] blocks = new ByteBuffer[2 * layers];
    for (int i = 0; i < blocks.length; i++) {
      blocks[i] = ByteBuffer.allocateDirect(Math.multiplyExact(rowBytes, slotsPerBlock)).order(ByteOrder.nativeOrder());
    }
    for (int slot = 0; slot < slotsPerBlock; slot++) {
      OnnxTensor[] views = new OnnxTensor[2 * layers];
      try {
        for (int i = 0; i < views.length; i++) {
          ByteBuffer region = blocks[i].slice(slot * rowBytes, rowBytes).order(ByteOrder.nativeOrder());
          views[i] = OnnxTensor.createTensor(env, region.asFloatBuffer(), rowShape);
        }
      } catch (OrtException e) {
        for (OnnxTensor t : views) {
          if (t != null) {
            t.close();
          }
        }
        throw new RuntimeFailureException("cannot create KV-cache tensors: " + e.getMessage(), e);
      }
      unused.add(new Row(views));
    }
  }

  /** Closes idle rows' tensors now and rows in use when they are released. Idempotent. */
  @Override
  public void close() {
    List<Row> drop;
    synchronized (lock) {
      closed = true;
      drop = new ArrayList<>(idle);
      drop.addAll(unused);
      idle.clear();
      unused.clear();
    }
    drop.forEach(Row::closeTensors);
  }

  /**
   * One slot: {@code tensors()[2i]} and {@code [2i + 1]} are layer i's key and value, each
   * {@code [1, kv_heads, capacity, head_dim]}, past and present of every call.
   */
  final class Row implements AutoCloseable {
    private final OnnxTensor[] tensors;
    private boolean inUse;

    private Row(OnnxTensor[] tensors) {
      this.tensors = tensors;
    }

    OnnxTensor[] tensors() {
      return tensors;
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
