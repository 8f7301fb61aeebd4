package dev.edgelm.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * A {@link Sequence} over a {@link DecoderModel}'s session.
 *
 * <p>The KV cache never leaves native memory: the {@code present.*} tensors of one run are fed
 * as the {@code past_key_values.*} of the next, and the run's {@link OrtSession.Result} (which owns
 * them) is closed only once the next run has produced its own. Logits are written by ORT into a
 * direct buffer this sequence owns (a pinned output), so only the rows a caller asks for are
 * copied into Java arrays; the buffer grows to the largest call and is reused.
 *
 * <p>A graph with a shared-buffer cache ({@link DecoderIo#sharedKv()}, GroupQueryAttention) keeps
 * no results: the sequence takes one {@link KvPool} row at its first call and passes each layer's
 * key and value tensor as both past input and pinned present output, so ORT appends in place; the
 * row returns to the pool when the sequence closes ({@link #reset()} keeps it).
 *
 * <p>A step allocates no buffers: token ids, positions and the attention mask (all ones, as a
 * sequence is never padded) live in direct buffers sized to the context at creation, and the
 * tensors of a call are views of them (ORT reads a direct buffer in place), so a decode step costs
 * a few tensor headers and one {@code run}. Measured in docs/BENCHMARKS.md (issue 15).
 */
final class OrtSequence implements Sequence {
  private final DecoderModel model;
  private final DecoderIo io;
  private final Set<String> presentOutputs;
  private final int vocab;

  /** The last run's outputs, holding the cache; null while the sequence is empty. */
  private OrtSession.Result cache;
  private OnnxTensor[] presents;
  private int length;
  private ByteBuffer logitsBytes = ByteBuffer.allocateDirect(0);
  private FloatBuffer logitsFloats = logitsBytes.asFloatBuffer();
  /** Direct, native-order input buffers sized to the context, reused by every call. */
  private final LongBuffer ids;
  private final LongBuffer positions;
  /** All ones: the attention mask of an unpadded sequence is a prefix of it. */
  private final LongBuffer ones;
  private final LongBuffer keep = directLongs(1);
  /** Shared-buffer graphs: tokens in the cache after the call minus one, and that total (int32). */
  private final IntBuffer seqlensK = directInts(1);
  private final IntBuffer totalLength = directInts(1);
  /** Shared-buffer graphs: this sequence's KV row, taken at the first call; null before. */
  private KvPool.Row kvRow;
  private Map<String, OnnxTensor> pinned;
  /** The inputs of the last call; every call overwrites each key it uses, so it is never rebuilt. */
  private final Map<String, OnnxTensorLike> inputs = new HashMap<>();
  private float[] row;
  private boolean closed;

  OrtSequence(DecoderModel model) {
    this.model = model;
    this.io = model.io();
    this.presentOutputs = io.presentSet();
    this.vocab = io.vocabSize();
    int context = model.contextLength();
    this.ids = directLongs(context);
    this.positions = directLongs(context);
    this.ones = directLongs(context);
    for (int i = 0; i < context; i++) {
      ones.put(i, 1L);
    }
  }

  @Override
  public void append(int[] tokens, int firstRow, LogitsConsumer rows) {
    if (closed) {
      throw new IllegalStateException("sequence is closed");
    }
    int n = tokens.length;
    if (n == 0) {
      throw new InvalidRequestException("no tokens to append");
    }
    if (firstRow < 0 || firstRow > n) {
      throw new IllegalArgumentException("firstRow " + firstRow + " outside [0, " + n + "]");
    }
    if (length + n > model.contextLength()) {
      throw new InvalidRequestException("sequence would hold " + (length + n) + " tokens but the model's context is "
          + model.contextLength() + " tokens");
    }
    for (int id : tokens) {
      if (id < 0 || id >= vocab) {
        throw new InvalidRequestException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
      }
    }
    if (!io.logitsLastOnly() || firstRow >= n - 1) {
      run(tokens, 0, n, firstRow, rows);
    } else {
      // The graph returns the last position's row only: one call up to the first wanted row,
      // then one call per token.
      run(tokens, 0, firstRow + 1, firstRow, rows);
      for (int i = firstRow + 1; i < n; i++) {
        run(tokens, i, i + 1, firstRow, rows);
      }
    }
  }

  /** Runs tokens[from, to) and hands over the rows (indices relative to {@code tokens}) at or after firstRow. */
  private void run(int[] tokens, int from, int to, int firstRow, LogitsConsumer rows) {
    int n = to - from;
    int outRows;
    if (io.logitsToKeep()) {
      // Only the rows asked for (at least one: 0 would mean all).
      outRows = Math.max(1, to - Math.max(from, firstRow));
      keep.put(0, outRows);
    } else {
      outRows = io.logitsLastOnly() ? 1 : n;
    }
    int rowOffset = to - outRows;
    FloatBuffer logits = logitsBuffer(outRows);
    for (int i = 0; i < n; i++) {
      ids.put(i, tokens[from + i]);
      positions.put(i, length + i);
    }

    OrtSession.Result result;
    // Tensors over this sequence's direct buffers (no copy); only their shapes change between calls.
    OnnxTensor idsTensor = null;
    OnnxTensor positionsTensor = null;
    OnnxTensor maskTensor = null;
    OnnxTensor logitsTensor = null;
    OnnxTensor keepTensor = null;
    OnnxTensor seqlensTensor = null;
    OnnxTensor totalTensor = null;
    try {
      idsTensor = OnnxTensor.createTensor(model.env(), ids.slice(0, n), new long[] {1, n});
      inputs.put(DecoderIo.INPUT_IDS, idsTensor);
      if (io.attentionMask()) {
        maskTensor = OnnxTensor.createTensor(model.env(), ones.slice(0, length + n), new long[] {1, length + n});
        inputs.put(DecoderIo.ATTENTION_MASK, maskTensor);
      }
      if (io.positionIds()) {
        positionsTensor = OnnxTensor.createTensor(model.env(), positions.slice(0, n), new long[] {1, n});
        inputs.put(DecoderIo.POSITION_IDS, positionsTensor);
      }
      if (io.logitsToKeep()) {
        keepTensor = OnnxTensor.createTensor(model.env(), keep, new long[] {1});
        inputs.put(DecoderIo.LOGITS_TO_KEEP, keepTensor);
      }
      logitsTensor = OnnxTensor.createTensor(model.env(), logits, new long[] {1, outRows, vocab});
      String[] pastNames = io.pastNames();
      if (io.sharedKv()) {
        // Past and present are the same row: ORT writes this call's keys and values in place.
        boolean bind = false;
        if (kvRow == null) {
          kvRow = model.kvPool().acquire();
          pinned = new HashMap<>();
          bind = true;
        }
        bind |= kvRow.ensureCapacity(length + n, length);
        if (bind) {
          for (int i = 0; i < pastNames.length; i++) {
            pinned.put(io.presentNames()[i], kvRow.tensors()[i]);
            inputs.put(pastNames[i], kvRow.tensors()[i]);
          }
        }
        seqlensK.put(0, length + n - 1);
        totalLength.put(0, length + n);
        seqlensTensor = OnnxTensor.createTensor(model.env(), seqlensK, new long[] {1});
        totalTensor = OnnxTensor.createTensor(model.env(), totalLength, new long[0]);
        inputs.put(DecoderIo.SEQLENS_K, seqlensTensor);
        inputs.put(DecoderIo.TOTAL_SEQUENCE_LENGTH, totalTensor);
        pinned.put(DecoderIo.LOGITS, logitsTensor);
        model.session().run(inputs, Set.of(), pinned).close();
        result = null;
      } else {
        OnnxTensor[] past = presents == null ? model.emptyPast() : presents;
        for (int i = 0; i < pastNames.length; i++) {
          inputs.put(pastNames[i], past[i]);
        }
        result = model.session().run(inputs, presentOutputs, Map.of(DecoderIo.LOGITS, logitsTensor));
      }
    } catch (OrtException e) {
      throw new RuntimeFailureException("ONNX Runtime failed on " + model.modelPackage().modelFile() + " appending " + n
          + " tokens at position " + length + ": " + e.getMessage(), e);
    } finally {
      closeAll(idsTensor, maskTensor, positionsTensor, logitsTensor, keepTensor, seqlensTensor, totalTensor);
    }

    if (result != null) {
      keepPresents(result);
    }
    length += n;

    for (int r = 0; r < outRows; r++) {
      int index = rowOffset + r;
      if (index >= firstRow) {
        logits.get(r * vocab, row, 0, vocab);
        rows.accept(index, row);
      }
    }
  }

  /** Concatenating graphs: the run's presents are the next call's past; the result that owns them stays open until then. */
  private void keepPresents(OrtSession.Result result) {
    String[] presentNames = io.presentNames();
    OnnxTensor[] next = new OnnxTensor[presentNames.length];
    for (int i = 0; i < next.length; i++) {
      next[i] = (OnnxTensor) result.get(presentNames[i]).orElseThrow();
    }
    if (cache != null) {
      cache.close();
    }
    cache = result;
    presents = next;
  }

  private static void closeAll(OnnxTensor... tensors) {
    for (OnnxTensor t : tensors) {
      if (t != null) {
        t.close();
      }
    }
  }

  private static IntBuffer directInts(int count) {
    return ByteBuffer.allocateDirect(count * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
  }

  private static LongBuffer directLongs(int count) {
    return ByteBuffer.allocateDirect(count * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
  }

  /** A direct, native-order view of exactly {@code rows} logits rows, reusing the buffer when it is big enough. */
  private FloatBuffer logitsBuffer(int rows) {
    int bytes = Math.multiplyExact(rows, vocab) * Float.BYTES;
    if (logitsBytes.capacity() < bytes) {
      logitsBytes = ByteBuffer.allocateDirect(bytes).order(ByteOrder.nativeOrder());
      logitsFloats = logitsBytes.asFloatBuffer();
    }
    if (row == null) {
      row = new float[vocab];
    }
    return logitsFloats.slice(0, rows * vocab);
  }

  @Override
  public int length() {
    return length;
  }

  @Override
  public int contextLength() {
    return model.contextLength();
  }

  @Override
  public void reset() {
    if (cache != null) {
      cache.close();
      cache = null;
    }
    presents = null;
    length = 0;
  }

  @Override
  public void close() {
    if (!closed) {
      closed = true;
      reset();
      if (kvRow != null) {
        kvRow.close();
        kvRow = null;
        pinned = null;
      }
      logitsBytes = ByteBuffer.allocateDirect(0);
      logitsFloats = logitsBytes.asFloatBuffer();
      inputs.clear();
      model.sequenceClosed();
    }
  }
}
