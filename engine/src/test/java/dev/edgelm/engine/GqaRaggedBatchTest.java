package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.IntBuffer;
import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The premise of a batched decode step (issue 16), for ORT 1.28's CPU
 * {@code com.microsoft:GroupQueryAttention}: one call over a cache buffer of several rows
 * {@code [rows, kv_heads, capacity, head_dim]}, shared as past and pinned present, with one new
 * token per row and per-row {@code seqlens_k} (rows of different lengths; {@code
 * total_sequence_length} the longest), attends each row only to its own positions and writes each
 * row's new key and value at that row's own length, leaving every other position of every row as
 * it was. A row whose length is 0 is filled by a batch-1 prompt call over a view of that one row
 * (how a newcomer is prefilled on its own row), and a row that sits out a step (a hole: fed a
 * dummy token at its own length) keeps its positions below that length. Outputs are checked
 * against attention computed in Java.
 */
class GqaRaggedBatchTest {
  private static final int HEADS = 4;
  private static final int KV_HEADS = 2;
  private static final int HEAD_DIM = 16;
  private static final int CAPACITY = 24;
  private static final int ROWS = 3;
  private static final int ROW_FLOATS = KV_HEADS * CAPACITY * HEAD_DIM;
  private static final GqaKernel KERNEL = new GqaKernel(HEADS, KV_HEADS, HEAD_DIM, CAPACITY);

  @Test
  void raggedRowsInOneCall_eachAttendsToItsOwnLength_andHolesKeepTheirCache() throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    SplittableRandom random = new SplittableRandom(16);
    // Per row, the keys/values/queries of every position it will ever hold.
    float[][][] q = new float[ROWS][][];
    float[][][] k = new float[ROWS][][];
    float[][][] v = new float[ROWS][][];
    for (int r = 0; r < ROWS; r++) {
      q[r] = GqaKernel.randomRows(random, CAPACITY, HEADS * HEAD_DIM);
      k[r] = GqaKernel.randomRows(random, CAPACITY, KV_HEADS * HEAD_DIM);
      v[r] = GqaKernel.randomRows(random, CAPACITY, KV_HEADS * HEAD_DIM);
    }
    FloatBuffer keys = GqaKernel.directFloats(ROWS * ROW_FLOATS);
    FloatBuffer values = GqaKernel.directFloats(ROWS * ROW_FLOATS);
    int[] length = new int[ROWS];
    try (OrtSession session = env.createSession(KERNEL.model("batch").toByteArray())) {
      // Prompts of different lengths, each on its own row through a one-row view of the buffer.
      int[] prompts = {7, 2, 11};
      for (int r = 0; r < ROWS; r++) {
        float[] out = run(env, session, keys, values, r, 1, new int[] {0}, prompts[r], q, k, v, r, -1);
        assertOutputs(out, q, k, v, r, 0, prompts[r], 0);
        length[r] = prompts[r];
      }
      // Decode steps of all rows in one call; at step 2 row 1 sits out (a hole fed a dummy at its own length).
      for (int step = 0; step < 5; step++) {
        boolean hole = step == 2;
        int[] seqlensK = new int[ROWS];
        for (int r = 0; r < ROWS; r++) {
          seqlensK[r] = length[r];
        }
        float[] out = run(env, session, keys, values, 0, ROWS, seqlensK, 1, q, k, v, -1, hole ? 1 : -1);
        for (int r = 0; r < ROWS; r++) {
          if (hole && r == 1) {
            continue; // its output is not read; its new key at length[1] is overwritten by its next real step
          }
          assertOutputs(out, q, k, v, r, length[r], 1, r);
        }
        for (int r = 0; r < ROWS; r++) {
          if (!(hole && r == 1)) {
            length[r]++;
          }
        }
        for (int r = 0; r < ROWS; r++) {
          assertCache(keys, values, k, v, r, length[r]);
        }
      }
      assertEquals(12, length[0]);
      assertEquals(6, length[1]);
      assertEquals(16, length[2]);
    }
  }

  /**
   * One GQA call over rows {@code [firstRow, firstRow + rows)} of the buffers with {@code n} new
   * tokens per row: row i's tokens are positions {@code seqlensK[i] + 1 - n ..} of
   * {@code q/k/v[firstRow + i]} when {@code n == 1}, or its first {@code n} positions (a prompt) when
   * {@code promptRow >= 0}; row {@code holeRow} gets noise. Returns the output [rows, n, heads·head_dim].
   */
  private static float[] run(OrtEnvironment env, OrtSession session, FloatBuffer keys, FloatBuffer values, int firstRow, int rows,
      int[] seqlensK, int n, float[][][] q, float[][][] k, float[][][] v, int promptRow, int holeRow) throws Exception {
    SplittableRandom noise = new SplittableRandom(firstRow * 31L + seqlensK[0]);
    int[] seqlens = seqlensK.clone();
    FloatBuffer qIn = GqaKernel.directFloats(rows * n * HEADS * HEAD_DIM);
    FloatBuffer kIn = GqaKernel.directFloats(rows * n * KV_HEADS * HEAD_DIM);
    FloatBuffer vIn = GqaKernel.directFloats(rows * n * KV_HEADS * HEAD_DIM);
    int total = 0;
    for (int i = 0; i < rows; i++) {
      int row = firstRow + i;
      int first = promptRow >= 0 ? 0 : seqlensK[i];
      if (promptRow >= 0) {
        seqlens[i] = n - 1;
      }
      total = Math.max(total, seqlens[i] + 1);
      if (row == holeRow) { // a dummy: whatever the batch holds there, written past the row's length
        float[][] junk = GqaKernel.randomRows(noise, 3, HEADS * HEAD_DIM);
        qIn.put(i * HEADS * HEAD_DIM, junk[0]);
        kIn.put(i * KV_HEADS * HEAD_DIM, junk[1], 0, KV_HEADS * HEAD_DIM);
        vIn.put(i * KV_HEADS * HEAD_DIM, junk[2], 0, KV_HEADS * HEAD_DIM);
        continue;
      }
      for (int t = 0; t < n; t++) {
        qIn.put((i * n + t) * HEADS * HEAD_DIM, q[row][first + t]);
        kIn.put((i * n + t) * KV_HEADS * HEAD_DIM, k[row][first + t]);
        vIn.put((i * n + t) * KV_HEADS * HEAD_DIM, v[row][first + t]);
      }
    }
    FloatBuffer out = GqaKernel.directFloats(rows * n * HEADS * HEAD_DIM);
    long[] cacheShape = {rows, KV_HEADS, CAPACITY, HEAD_DIM};
    Map<String, OnnxTensorLike> in = new HashMap<>();
    try (OnnxTensor keyCache = OnnxTensor.createTensor(env, keys.slice(firstRow * ROW_FLOATS, rows * ROW_FLOATS), cacheShape);
        OnnxTensor valueCache = OnnxTensor.createTensor(env, values.slice(firstRow * ROW_FLOATS, rows * ROW_FLOATS), cacheShape);
        OnnxTensor qt = OnnxTensor.createTensor(env, qIn, new long[] {rows, n, HEADS * HEAD_DIM});
        OnnxTensor kt = OnnxTensor.createTensor(env, kIn, new long[] {rows, n, KV_HEADS * HEAD_DIM});
        OnnxTensor vt = OnnxTensor.createTensor(env, vIn, new long[] {rows, n, KV_HEADS * HEAD_DIM});
        OnnxTensor seqlensTensor = OnnxTensor.createTensor(env, IntBuffer.wrap(seqlens), new long[] {rows});
        OnnxTensor totalLength = OnnxTensor.createTensor(env, IntBuffer.wrap(new int[] {total}), new long[] {});
        OnnxTensor output = OnnxTensor.createTensor(env, out, new long[] {rows, n, HEADS * HEAD_DIM})) {
      in.put("query", qt);
      in.put("key", kt);
      in.put("value", vt);
      in.put("past_key", keyCache);
      in.put("past_value", valueCache);
      in.put("seqlens_k", seqlensTensor);
      in.put("total_sequence_length", totalLength);
      session.run(in, Map.of("output", output, "present_key", keyCache, "present_value", valueCache)).close();
    }
    float[] result = new float[rows * n * HEADS * HEAD_DIM];
    out.get(0, result);
    return result;
  }

  /** Output rows {@code [from, from + n)} of {@code row} (batch index {@code batchIndex} of the call) against Java attention. */
  private static void assertOutputs(float[] out, float[][][] q, float[][][] k, float[][][] v, int row, int from, int n, int batchIndex) {
    for (int t = 0; t < n; t++) {
      float[] expected = KERNEL.attention(q[row][from + t], k[row], v[row], from + t);
      int base = (batchIndex * n + t) * HEADS * HEAD_DIM;
      for (int i = 0; i < expected.length; i++) {
        assertEquals(expected[i], out[base + i], 1e-5f, "row " + row + " position " + (from + t) + " element " + i);
      }
    }
  }

  /** Positions {@code [0, length)} of {@code row} hold its own keys and values. */
  private static void assertCache(FloatBuffer keys, FloatBuffer values, float[][][] k, float[][][] v, int row, int length) {
    for (int t = 0; t < length; t++) {
      for (int h = 0; h < KV_HEADS; h++) {
        for (int d = 0; d < HEAD_DIM; d++) {
          int at = row * ROW_FLOATS + (h * CAPACITY + t) * HEAD_DIM + d;
          assertEquals(k[row][t][h * HEAD_DIM + d], keys.get(at), 0f, "key of row " + row + " position " + t);
          assertEquals(v[row][t][h * HEAD_DIM + d], values.get(at), 0f, "value of row " + row + " position " + t);
        }
      }
    }
  }
}
