package dev.edgelm.engine.bench;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import com.google.protobuf.ByteString;
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
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * What one projection costs per activation row in each of ONNX Runtime's CPU kernels edgelm emits — fp32
 * {@code MatMul}, int8 {@code DynamicQuantizeMatMul}, int4 {@code MatMulNBits} (accuracy level 4, blocks of 32
 * and 128, with zero points) — for 1, 16 and 128 rows (a decode step, a short and a full prefill chunk):
 * single-node models, one intra-op thread, interleaved rounds, median. A program, not a test:
 *
 * <pre>
 * java -cp engine/target/test-classes:engine/target/classes:proto/target/classes:$(cat engine/target/cp.txt) \
 *     dev.edgelm.engine.bench.MatMulKernelBench [k=768] [n=3072] [rounds=5]
 * </pre>
 */
public final class MatMulKernelBench {
  private static final int[] ROWS = {1, 16, 128};

  private MatMulKernelBench() {}

  public static void main(String[] args) throws Exception {
    int k = args.length > 0 ? Integer.parseInt(args[0]) : 768;
    int n = args.length > 1 ? Integer.parseInt(args[1]) : 3072;
    int rounds = args.length > 2 ? Integer.parseInt(args[2]) : 5;
    SplittableRandom random = new SplittableRandom(7);
    Map<String, ModelProto> models = new LinkedHashMap<>();
    models.put("fp32 MatMul", fp32(k, n, random));
    models.put("int8 DynamicQuantizeMatMul", int8(k, n, random));
    models.put("int4 MatMulNBits b32 acc4", int4(k, n, 32, random));
    models.put("int4 MatMulNBits b128 acc4", int4(k, n, 128, random));
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Map<String, OrtSession> sessions = new LinkedHashMap<>();
    try (OrtSession.SessionOptions options = new OrtSession.SessionOptions()) {
      options.setIntraOpNumThreads(1);
      options.setInterOpNumThreads(1);
      options.addConfigEntry("session.intra_op.allow_spinning", "0");
      for (var e : models.entrySet()) {
        sessions.put(e.getKey(), env.createSession(e.getValue().toByteArray(), options));
      }
    }
    double[][][] us = new double[sessions.size()][ROWS.length][rounds];
    for (int round = -1; round < rounds; round++) { // one warm-up round
      for (int r = 0; r < ROWS.length; r++) {
        int m = ROWS[r];
        FloatBuffer a = ByteBuffer.allocateDirect(m * k * 4).order(ByteOrder.nativeOrder()).asFloatBuffer();
        for (int i = 0; i < m * k; i++) {
          a.put(i, (float) random.nextGaussian());
        }
        try (OnnxTensor input = OnnxTensor.createTensor(env, a, new long[] {m, k})) {
          int s = 0;
          for (OrtSession session : sessions.values()) {
            int calls = Math.max(8, 256 / m);
            session.run(Map.of("A", input)).close();
            long t0 = System.nanoTime();
            for (int c = 0; c < calls; c++) {
              session.run(Map.of("A", input)).close();
            }
            if (round >= 0) {
              us[s][r][round] = (System.nanoTime() - t0) / 1e3 / calls / m;
            }
            s++;
          }
        }
      }
    }
    System.out.printf(Locale.ROOT, "K=%d N=%d, 1 thread, median of %d rounds, microseconds per row (x fp32's time)%n", k, n, rounds);
    int s = 0;
    double[] fp32 = new double[ROWS.length];
    for (String name : sessions.keySet()) {
      StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-28s", name));
      for (int r = 0; r < ROWS.length; r++) {
        double[] v = us[s][r].clone();
        Arrays.sort(v);
        double median = v[v.length / 2];
        if (s == 0) {
          fp32[r] = median;
        }
        line.append(String.format(Locale.ROOT, "  M=%-3d %7.1f us (x%.2f)", ROWS[r], median, median / fp32[r]));
      }
      System.out.println(line);
      s++;
    }
    for (OrtSession session : sessions.values()) {
      session.close();
    }
  }

  private static ModelProto fp32(int k, int n, SplittableRandom random) {
    return model(NodeProto.newBuilder().setOpType("MatMul").addInput("A").addInput("W").addOutput("Y").build(), k, n,
        tensor("W", TensorProto.DataType.FLOAT, randomBytes(k * n * 4, random, true), k, n));
  }

  private static ModelProto int8(int k, int n, SplittableRandom random) {
    return model(NodeProto.newBuilder().setOpType("DynamicQuantizeMatMul").setDomain("com.microsoft")
        .addInput("A").addInput("W").addInput("S").addOutput("Y").build(), k, n,
        tensor("W", TensorProto.DataType.INT8, randomBytes(k * n, random, false), k, n),
        tensor("S", TensorProto.DataType.FLOAT, constantFloats(n, 0.01f), n));
  }

  private static ModelProto int4(int k, int n, int block, SplittableRandom random) {
    int blocks = (k + block - 1) / block;
    return model(NodeProto.newBuilder().setOpType("MatMulNBits").setDomain("com.microsoft")
        .addInput("A").addInput("B").addInput("scales").addInput("zp").addOutput("Y")
        .addAttribute(intAttribute("K", k)).addAttribute(intAttribute("N", n)).addAttribute(intAttribute("bits", 4))
        .addAttribute(intAttribute("block_size", block)).addAttribute(intAttribute("accuracy_level", 4)).build(), k, n,
        tensor("B", TensorProto.DataType.UINT8, randomBytes(n * blocks * block / 2, random, false), n, blocks, block / 2),
        tensor("scales", TensorProto.DataType.FLOAT, constantFloats(n * blocks, 0.01f), (long) n * blocks),
        tensor("zp", TensorProto.DataType.UINT8, randomBytes(n * ((blocks + 1) / 2), random, false), (long) n * ((blocks + 1) / 2)));
  }

  private static ModelProto model(NodeProto node, int k, int n, TensorProto... initializers) {
    GraphProto.Builder g = GraphProto.newBuilder().setName("matmul").addNode(node)
        .addInput(value("A", "rows", k)).addOutput(value("Y", "rows", n));
    for (TensorProto t : initializers) {
      g.addInitializer(t);
    }
    return ModelProto.newBuilder().setIrVersion(8).setProducerName("edgelm-bench")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("com.microsoft").setVersion(1))
        .setGraph(g).build();
  }

  private static ValueInfoProto value(String name, String rows, int width) {
    return ValueInfoProto.newBuilder().setName(name).setType(TypeProto.newBuilder().setTensorType(TypeProto.Tensor.newBuilder()
        .setElemType(TensorProto.DataType.FLOAT_VALUE).setShape(TensorShapeProto.newBuilder()
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(rows))
            .addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(width))))).build();
  }

  private static TensorProto tensor(String name, TensorProto.DataType type, byte[] raw, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(type.getNumber()).setRawData(ByteString.copyFrom(raw));
    for (long d : dims) {
      t.addDims(d);
    }
    return t.build();
  }

  private static AttributeProto intAttribute(String name, long value) {
    return AttributeProto.newBuilder().setName(name).setType(AttributeProto.AttributeType.INT).setI(value).build();
  }

  private static byte[] randomBytes(int count, SplittableRandom random, boolean floats) {
    byte[] out = new byte[count];
    if (floats) {
      ByteBuffer b = ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < count / 4; i++) {
        b.putFloat((float) (random.nextGaussian() * 0.02));
      }
    } else {
      random.nextBytes(out);
    }
    return out;
  }

  private static byte[] constantFloats(int count, float value) {
    ByteBuffer b = ByteBuffer.allocate(count * 4).order(ByteOrder.LITTLE_ENDIAN);
    for (int i = 0; i < count; i++) {
      b.putFloat(value);
    }
    return b.array();
  }
}
