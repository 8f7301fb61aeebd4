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
 * Whether ONNX Runtime's CPU {@code com.microsoft:GroupQueryAttention} (1.28) accepts one
 * preallocated KV buffer per layer as both {@code past_key}/{@code past_value} and the pinned
 * {@code present_key}/{@code present_value} outputs of {@code OrtSession.run}, writing each step's
 * keys and values in place, with outputs equal to attention computed in Java. This is the
 * premise of an in-place KV cache (issue 15); if ORT copied or refused the aliasing, this fails.
 * It covers a prompt, single-token steps and a three-token chunk appended after a past.
 */
class GqaSharedBufferTest {
  private static final int HEADS = 4;
  private static final int KV_HEADS = 2;
  private static final int HEAD_DIM = 8;
  private static final int MAX_LEN = 16;
  private static final GqaKernel KERNEL = new GqaKernel(HEADS, KV_HEADS, HEAD_DIM, MAX_LEN);

  @Test
  void sharedPastPresentBuffer_writtenInPlace_matchesReferenceAttention() throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    SplittableRandom random = new SplittableRandom(11);
    int prompt = 5;
    int steps = 8;
    int total = prompt + steps;
    float[][] q = GqaKernel.randomRows(random, total, HEADS * HEAD_DIM);
    float[][] k = GqaKernel.randomRows(random, total, KV_HEADS * HEAD_DIM);
    float[][] v = GqaKernel.randomRows(random, total, KV_HEADS * HEAD_DIM);

    // One buffer per K and V, [1, kv_heads, max_len, head_dim]: the cache's only storage.
    long[] cacheShape = {1, KV_HEADS, MAX_LEN, HEAD_DIM};
    FloatBuffer keys = GqaKernel.directFloats(KV_HEADS * MAX_LEN * HEAD_DIM);
    FloatBuffer values = GqaKernel.directFloats(KV_HEADS * MAX_LEN * HEAD_DIM);
    try (OrtSession session = env.createSession(KERNEL.model(1).toByteArray());
        OnnxTensor keyCache = OnnxTensor.createTensor(env, keys, cacheShape);
        OnnxTensor valueCache = OnnxTensor.createTensor(env, values, cacheShape)) {
      int done = 0;
      for (int call : new int[] {prompt, 1, 1, 3, 1, 1, 1}) {
        FloatBuffer out = GqaKernel.directFloats(call * HEADS * HEAD_DIM);
        Map<String, OnnxTensorLike> in = new HashMap<>();
        try (OnnxTensor qt = OnnxTensor.createTensor(env, rows(q, done, call), new long[] {1, call, HEADS * HEAD_DIM});
            OnnxTensor kt = OnnxTensor.createTensor(env, rows(k, done, call), new long[] {1, call, KV_HEADS * HEAD_DIM});
            OnnxTensor vt = OnnxTensor.createTensor(env, rows(v, done, call), new long[] {1, call, KV_HEADS * HEAD_DIM});
            OnnxTensor seqlens = OnnxTensor.createTensor(env, IntBuffer.wrap(new int[] {done + call - 1}), new long[] {1});
            OnnxTensor totalLength = OnnxTensor.createTensor(env, IntBuffer.wrap(new int[] {done + call}), new long[] {});
            OnnxTensor output = OnnxTensor.createTensor(env, out, new long[] {1, call, HEADS * HEAD_DIM})) {
          in.put("query", qt);
          in.put("key", kt);
          in.put("value", vt);
          in.put("past_key", keyCache);
          in.put("past_value", valueCache);
          in.put("seqlens_k", seqlens);
          in.put("total_sequence_length", totalLength);
          Map<String, OnnxTensor> pinned = Map.of("output", output, "present_key", keyCache, "present_value", valueCache);
          session.run(in, pinned).close();
        }
        for (int t = done; t < done + call; t++) {
          for (int h = 0; h < KV_HEADS; h++) {
            for (int d = 0; d < HEAD_DIM; d++) {
              int at = (h * MAX_LEN + t) * HEAD_DIM + d;
              assertEquals(k[t][h * HEAD_DIM + d], keys.get(at), 0f, "key of position " + t + " written in place");
              assertEquals(v[t][h * HEAD_DIM + d], values.get(at), 0f, "value of position " + t + " written in place");
            }
          }
          float[] expected = KERNEL.attention(q[t], k, v, t);
          for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], out.get((t - done) * HEADS * HEAD_DIM + i), 1e-5f, "output of position " + t + " element " + i);
          }
        }
        done += call;
      }
      assertEquals(total, done);
    }
  }

  private static FloatBuffer rows(float[][] x, int from, int count) {
    FloatBuffer b = GqaKernel.directFloats(count * x[0].length);
    for (int i = 0; i < count; i++) {
      b.put(i * x[0].length, x[from + i]);
    }
    return b;
  }
}
