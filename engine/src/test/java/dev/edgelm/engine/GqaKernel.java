package dev.edgelm.engine;

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
import java.util.SplittableRandom;

/**
 * A one-node {@code com.microsoft:GroupQueryAttention} graph over a cache of {@code capacity}
 * positions, and causal grouped-query attention computed in Java to check it against: the fixture of
 * {@link GqaSharedBufferTest} (one row) and {@link GqaRaggedBatchTest} (rows of different lengths).
 */
record GqaKernel(int heads, int kvHeads, int headDim, int capacity) {

  /** The graph; {@code batch} is a fixed batch size (Integer) or a symbolic one (String). */
  ModelProto model(Object batch) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("gqa");
    g.addInput(value("query", TensorProto.DataType.FLOAT, batch, "seq", heads * headDim));
    g.addInput(value("key", TensorProto.DataType.FLOAT, batch, "seq", kvHeads * headDim));
    g.addInput(value("value", TensorProto.DataType.FLOAT, batch, "seq", kvHeads * headDim));
    g.addInput(value("past_key", TensorProto.DataType.FLOAT, batch, kvHeads, capacity, headDim));
    g.addInput(value("past_value", TensorProto.DataType.FLOAT, batch, kvHeads, capacity, headDim));
    g.addInput(value("seqlens_k", TensorProto.DataType.INT32, batch));
    g.addInput(value("total_sequence_length", TensorProto.DataType.INT32));
    g.addNode(NodeProto.newBuilder().setOpType("GroupQueryAttention").setDomain("com.microsoft").setName("gqa")
        .addInput("query").addInput("key").addInput("value").addInput("past_key").addInput("past_value")
        .addInput("seqlens_k").addInput("total_sequence_length")
        .addOutput("output").addOutput("present_key").addOutput("present_value")
        .addAttribute(AttributeProto.newBuilder().setName("num_heads").setType(AttributeProto.AttributeType.INT).setI(heads))
        .addAttribute(AttributeProto.newBuilder().setName("kv_num_heads").setType(AttributeProto.AttributeType.INT).setI(kvHeads)));
    g.addOutput(value("output", TensorProto.DataType.FLOAT, batch, "seq", heads * headDim));
    g.addOutput(value("present_key", TensorProto.DataType.FLOAT, batch, kvHeads, capacity, headDim));
    g.addOutput(value("present_value", TensorProto.DataType.FLOAT, batch, kvHeads, capacity, headDim));
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("edgelm-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
        .setGraph(g).build();
  }

  /** Causal grouped-query attention of one query row over positions 0..t of {@code k}, {@code v}. */
  float[] attention(float[] query, float[][] k, float[][] v, int t) {
    float[] out = new float[heads * headDim];
    int group = heads / kvHeads;
    for (int h = 0; h < heads; h++) {
      int kvh = h / group;
      double[] scores = new double[t + 1];
      double max = Double.NEGATIVE_INFINITY;
      for (int j = 0; j <= t; j++) {
        double s = 0;
        for (int d = 0; d < headDim; d++) {
          s += query[h * headDim + d] * k[j][kvh * headDim + d];
        }
        scores[j] = s / Math.sqrt(headDim);
        max = Math.max(max, scores[j]);
      }
      double z = 0;
      for (int j = 0; j <= t; j++) {
        scores[j] = Math.exp(scores[j] - max);
        z += scores[j];
      }
      for (int d = 0; d < headDim; d++) {
        double acc = 0;
        for (int j = 0; j <= t; j++) {
          acc += scores[j] / z * v[j][kvh * headDim + d];
        }
        out[h * headDim + d] = (float) acc;
      }
    }
    return out;
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

  static float[][] randomRows(SplittableRandom random, int n, int width) {
    float[][] rows = new float[n][width];
    for (float[] row : rows) {
      for (int i = 0; i < width; i++) {
        row[i] = (float) random.nextGaussian();
      }
    }
    return rows;
  }

  static FloatBuffer directFloats(int count) {
    return ByteBuffer.allocateDirect(count * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer();
  }
}
