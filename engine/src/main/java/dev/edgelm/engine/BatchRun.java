package dev.edgelm.engine;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.nio.LongBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * One {@code OrtSession.run} over consecutive rows of a {@link KvBlock}: {@code count} rows of
 * {@code tokensPerRow} new tokens each, row i's tokens written at its own positions
 * ({@code seqlens_k[i] + 1 - tokensPerRow ..}), the logits of each row's last token pinned into a
 * direct buffer. The caller fills {@link #token} and {@link #seqlen} first. Input buffers are direct,
 * sized at creation and reused, so a step allocates only tensor headers.
 *
 * <p>Not thread-safe: its batch's thread uses it.
 */
final class BatchRun {
  private final DecoderModel model;
  private final DecoderIo io;
  private final int vocab;
  private final LongBuffer ids;
  private final LongBuffer positions;
  private final IntBuffer seqlensK;
  private final IntBuffer total = directInts(1);
  private final LongBuffer keep = directLongs(1);
  private final FloatBuffer logits;
  private final Map<String, OnnxTensorLike> inputs = new HashMap<>();
  private final Map<String, OnnxTensor> pinned = new HashMap<>();

  BatchRun(DecoderModel model, int maxRows) {
    this.model = model;
    this.io = model.io();
    this.vocab = io.vocabSize();
    int tokens = Math.max(maxRows, model.contextLength());
    this.ids = directLongs(tokens);
    this.positions = directLongs(tokens);
    this.seqlensK = directInts(maxRows);
    this.logits = ByteBuffer.allocateDirect(Math.multiplyExact(maxRows, vocab) * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
    keep.put(0, 1);
  }

  /** Token {@code index} of the call (row-major: row · tokensPerRow + t) and its position. */
  void token(int index, int id, int position) {
    ids.put(index, id);
    positions.put(index, position);
  }

  /** Row {@code row}'s {@code seqlens_k}: its tokens in the cache after this call, minus one. */
  void seqlen(int row, int value) {
    seqlensK.put(row, value);
  }

  /**
   * Runs the call; {@code total} is the longest row's length after it. Afterwards {@link #logits}
   * holds {@code count} rows of {@code vocab} floats.
   */
  void run(KvBlock block, int first, int count, int tokensPerRow, int totalLength) {
    int n = count * tokensPerRow;
    total.put(0, totalLength);
    OnnxTensor idsTensor = null;
    OnnxTensor positionsTensor = null;
    OnnxTensor seqlensTensor = null;
    OnnxTensor totalTensor = null;
    OnnxTensor keepTensor = null;
    OnnxTensor logitsTensor = null;
    try {
      long[] shape = {count, tokensPerRow};
      idsTensor = OnnxTensor.createTensor(model.env(), ids.slice(0, n), shape);
      positionsTensor = OnnxTensor.createTensor(model.env(), positions.slice(0, n), shape);
      seqlensTensor = OnnxTensor.createTensor(model.env(), seqlensK.slice(0, count), new long[] {count});
      totalTensor = OnnxTensor.createTensor(model.env(), total, new long[0]);
      keepTensor = OnnxTensor.createTensor(model.env(), keep, new long[] {1});
      logitsTensor = OnnxTensor.createTensor(model.env(), logits.slice(0, count * vocab), new long[] {count, 1, vocab});
      inputs.put(DecoderIo.INPUT_IDS, idsTensor);
      inputs.put(DecoderIo.POSITION_IDS, positionsTensor);
      inputs.put(DecoderIo.SEQLENS_K, seqlensTensor);
      inputs.put(DecoderIo.TOTAL_SEQUENCE_LENGTH, totalTensor);
      inputs.put(DecoderIo.LOGITS_TO_KEEP, keepTensor);
      OnnxTensor[] cache = block.view(first, count);
      String[] past = io.pastNames();
      String[] present = io.presentNames();
      for (int i = 0; i < past.length; i++) {
        inputs.put(past[i], cache[i]);
        pinned.put(present[i], cache[i]);
      }
      pinned.put(DecoderIo.LOGITS, logitsTensor);
      model.session().run(inputs, Set.of(), pinned).close();
    } catch (OrtException e) {
      throw new RuntimeFailureException("ONNX Runtime failed on " + model.modelPackage().modelFile() + " running " + count
          + " rows of " + tokensPerRow + " tokens: " + e.getMessage(), e);
    } finally {
      for (OnnxTensor t : new OnnxTensor[] {idsTensor, positionsTensor, seqlensTensor, totalTensor, keepTensor, logitsTensor}) {
        if (t != null) {
          t.close();
        }
      }
    }
  }

  /** Copies row {@code index} of the last call's logits into {@code out}. */
  void logits(int index, float[] out) {
    logits.get(index * vocab, out, 0, vocab);
  }

  private static IntBuffer directInts(int count) {
    return ByteBuffer.allocateDirect(count * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer();
  }

  private static LongBuffer directLongs(int count) {
    return ByteBuffer.allocateDirect(count * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer();
  }
}
