package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxTensorLike;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.edgelm.proto.onnx.AttributeProto;
import dev.edgelm.proto.onnx.GraphProto;
import dev.edgelm.proto.onnx.ModelProto;
import dev.edgelm.proto.onnx.NodeProto;
import dev.edgelm.proto.onnx.OperatorSetIdProto;
import dev.edgelm.proto.onnx.TensorProto;
import dev.edgelm.proto.onnx.TensorShapeProto;
import dev.edgelm.proto.onnx.TypeProto;
import dev.edgelm.proto.onnx.ValueInfoProto;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
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

  @Test
  void sharedPastPresentBuffer_writtenInPlace_matchesReferenceAttention() throws Exception {
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    SplittableRandom random = new SplittableRandom(11);
    int prompt = 5;
    int steps = 8;
    int total = prompt + steps;
    float[][] q = randomRows(random, total, HEADS * HEAD_DIM);
    float[][] k = randomRows(random, total, KV_HEADS * HEAD_DIM);
    float[][] v = randomRows(random, total, KV_HEADS * HEAD_DIM);

    // One buffer per K and V, [1, kv_heads, max_len, head_dim]: the cache's only storage.
    long[] cacheShape = {1, KV_HEADS, MAX_LEN, HEAD_DIM};
    FloatBuffer keys = directFloats(KV_HEADS * MAX_LEN * HEAD_DIM);
    FloatBuffer values = directFloats(KV_HEADS * MAX_LEN * HEAD_DIM);
    try (OrtSession session = env.createSession(gqaModel().toByteArray());
        OnnxTensor keyCache = OnnxTensor.createTensor(env, keys, cacheShape);
        OnnxTensor valueCache = OnnxTensor.createTensor(env, values, cacheShape)) {
      int done = 0;
      for (int call : new int[] {prompt, 1, 1, 3, 1, 1, 1}) {
        FloatBuffer out = directFloats(call * HEADS * HEAD_DIM);
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
          float[] expected = attention(q[t], k, v, t);
          for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], out.get((t - done) * HEADS * HEAD_DIM + i), 1e-5f, "output of position " + t + " element " + i);
          }
        }
        done += call;
      }
      assertEquals(total, done);
    }
  }

  /** Causal grouped-query attention of one query row over positions 0..t. */
  private static float[] attention(float[] query, float[][] k, float[][] v, int t) {
    float[] out = new float[HEADS * HEAD_DIM];
    int group = HEADS / KV_HEADS;
    for (int h = 0; h < HEADS; h++) {
      int kvh = h / group;
      double[] scores = new double[t + 1];
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j <= t; j++) {
        double s = 0;
        for (int d = 0; d < HEAD_DIM; d++) {
          s += query[h * HEAD_DIM + d] * k[j][kvh * HEAD_DIM + d];
        }
        scores[j] = s / Math.sqrt(HEAD_DIM);
        max = Math.max(max, scores[j]);
      }
      double z = 0;
      for (int j = 0; j <= t; j++) {
        scores[j] = Math.exp(scores[j] - max);
        z += scores[j];
      }
      for (int d = 0; d < HEAD_DIM; d++) {
        double acc = 0;
        for (int j = 0; j <= t; j++) {
          acc += scores[j] / z * v[j][kvh * HEAD_DIM + d];
        }
        out[h * HEAD_DIM + d] = (float) acc;
      }
    }
    return out;
  }

  private static ModelProto gqaModel() {
    GraphProto.Builder g = GraphProto.newBuilder().setName("gqa");
    g.addInput(value("query", TensorProto.DataType.FLOAT, 1, "seq", HEADS * HEAD_DIM));
    g.addInput(value("key", TensorProto.DataType.FLOAT, 1, "seq", KV_HEADS * HEAD_DIM));
    g.addInput(value("value", TensorProto.DataType.FLOAT, 1, "seq", KV_HEADS * HEAD_DIM));
    g.addInput(value("past_key", TensorProto.DataType.FLOAT, 1, KV_HEADS, MAX_LEN, HEAD_DIM));
    g.addInput(value("past_value", TensorProto.DataType.FLOAT, 1, KV_HEADS, MAX_LEN, HEAD_DIM));
    g.addInput(value("seqlens_k", TensorProto.DataType.INT32, 1));
    g.addInput(value("total_sequence_length", TensorProto.DataType.INT32));
    g.addNode(NodeProto.newBuilder().setOpType("GroupQueryAttention").setDomain("com.microsoft").setName("gqa")
        .addInput("query").addInput("key").addInput("value").addInput("past_key").addInput("past_value")
        .addInput("seqlens_k").addInput("total_sequence_length")
        .addOutput("output").addOutput("present_key").addOutput("present_value")
        .addAttribute(AttributeProto.newBuilder().setName("num_heads").setType(AttributeProto.AttributeType.INT).setI(HEADS))
        .addAttribute(AttributeProto.newBuilder().setName("kv_num_heads").setType(AttributeProto.AttributeType.INT).setI(KV_HEADS)));
    g.addOutput(value("output", TensorProto.DataType.FLOAT, 1, "seq", HEADS * HEAD_DIM));
    g.addOutput(value("present_key", TensorProto.DataType.FLOAT, 1, KV_HEADS, MAX_LEN, HEAD_DIM));
    g.addOutput(value("present_value", TensorProto.DataType.FLOAT, 1, KV_HEADS, MAX_LEN, HEAD_DIM));
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("edgelm-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
        .setGraph(g).build();
  }

  private static ValueInfoProto value(String name, TensorProto.DataType type, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      shape.addDim(d instanceof Integer n
          ? TensorShapeProto.Dimension.newBuilder().setDimValue(n)
          : TensorShapeProto.Dimension.newBuilder().setDimParam((String) d));
    }
    return ValueInfoProto.newBuilder().setName(name)
        .setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.getNumber()).setShape(shape)))
        .build();
  }

  private static float[][] randomRows(SplittableRandom random, int n, int width) {
    float[][] rows = new float[n][width];
    for (float[] row : rows) {
      for (int i = 0; i < width; i++) {
        row[i] = (float) random.nextGaussian();
      }
    }
    return rows;
  }

  private static FloatBuffer rows(float[][] x, int from, int count) {
    FloatBuffer b = directFloats(count * x[0].length);
    for (int i = 0; i < count; i++) {
      b.put(i * x[0].length, x[from + i]);
    }
    return b;
  }

  private static FloatBuffer directFloats(int count) {
    return ByteBuffer.allocateDirect(count * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }
}
