package dev.edgelm.engine.testing;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.proto.onnx.AttributeProto;
import dev.edgelm.proto.onnx.GraphProto;
import dev.edgelm.proto.onnx.ModelProto;
import dev.edgelm.proto.onnx.NodeProto;
import dev.edgelm.proto.onnx.OperatorSetIdProto;
import dev.edgelm.proto.onnx.TensorProto;
import dev.edgelm.proto.onnx.TensorShapeProto;
import dev.edgelm.proto.onnx.TypeProto;
import dev.edgelm.proto.onnx.ValueInfoProto;
import dev.edgelm.proto.v1.Architecture;
import dev.edgelm.proto.v1.GraphIo;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Writes a tiny decoder package (one layer, one KV head of dimension 2, vocabulary 8, context 16)
 * whose graph follows the decoder I/O convention, for testing the runtime's handling of graph
 * shapes the shared fixtures do not have. Row {@code i} of the logits is {@code W[id_i] + 0.01 *
 * position_i * (0..7)}, where {@code W[id]} peaks at {@code (id + 1) % 8}: the model counts up, and
 * every row says which position it was computed at.
 */
public final class ToyDecoder {
  public static final int VOCAB = 8;
  public static final int CONTEXT = 16;

  /** Variations of the graph. */
  public enum Shape {
    /** Logits for every position of a call. */
    ALL_LOGITS,
    /** Logits for the last position of a call only (descriptor graph.logits = "last"). */
    LAST_LOGITS,
    /** No past_key_values inputs (a graph exported without a cache). */
    NO_CACHE,
    /** present.0.value missing from the outputs. */
    MISSING_PRESENT_VALUE,
    /** An extra input the runtime does not feed. */
    EXTRA_INPUT
  }

  private ToyDecoder() {}

  /** Writes {@code model.onnx} and {@code variant.json} into {@code dir} and returns it. */
  public static Path write(Path dir, Shape shape) {
    try {
      Files.createDirectories(dir);
      Files.write(dir.resolve("model.onnx"), model(shape).toByteArray());
      VariantDescriptor descriptor = VariantDescriptor.newBuilder()
          .setSchemaVersion(1)
          .setId("toy-" + shape.name().toLowerCase())
          .setArchitecture(Architecture.newBuilder().setFamily("gpt2").setVocabSize(VOCAB).setNumLayers(1).setNumHeads(1)
              .setNumKvHeads(1).setHeadDim(2).setHiddenSize(2).setContextLength(CONTEXT))
          .setGraph(GraphIo.newBuilder().setPositionIds(true).setLogits(shape == Shape.LAST_LOGITS ? "last" : "all").setKvDtype("float32"))
          .build();
      Files.writeString(dir.resolve("variant.json"), JsonFormat.printer().print(descriptor));
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static ModelProto model(Shape shape) {
    boolean cache = shape != Shape.NO_CACHE;
    boolean last = shape == Shape.LAST_LOGITS;
    GraphProto.Builder g = GraphProto.newBuilder().setName("toy");
    g.addInput(value("input_ids", TensorProto.DataType.INT64, "batch", "seq"));
    g.addInput(value("attention_mask", TensorProto.DataType.INT64, "batch", "total"));
    g.addInput(value("position_ids", TensorProto.DataType.INT64, "batch", "seq"));
    if (shape == Shape.EXTRA_INPUT) {
      g.addInput(value("token_type_ids", TensorProto.DataType.INT64, "batch", "seq"));
    }

    float[] w = new float[VOCAB * VOCAB];
    for (int id = 0; id < VOCAB; id++) {
      w[id * VOCAB + (id + 1) % VOCAB] = 5f;
    }
    float[] slope = new float[VOCAB];
    for (int v = 0; v < VOCAB; v++) {
      slope[v] = 0.01f * v;
    }
    float[] embedding = new float[VOCAB * 2];
    for (int i = 0; i < embedding.length; i++) {
      embedding[i] = i * 0.5f;
    }
    g.addInitializer(floats("W", w, VOCAB, VOCAB));
    g.addInitializer(floats("slope", slope, VOCAB));
    g.addInitializer(floats("E", embedding, VOCAB, 2));
    g.addInitializer(longs("axis1", 1));
    g.addInitializer(longs("axis2", 2));
    g.addInitializer(longs("minus1", -1));
    g.addInitializer(longs("huge", Long.MAX_VALUE));

    String ids = "input_ids";
    String positions = "position_ids";
    if (last) {
      g.addNode(node("Slice", List.of("input_ids", "minus1", "huge", "axis1"), "last_ids"));
      g.addNode(node("Slice", List.of("position_ids", "minus1", "huge", "axis1"), "last_positions"));
      ids = "last_ids";
      positions = "last_positions";
    }
    g.addNode(node("Gather", List.of("W", ids), "by_id"));
    g.addNode(node("Cast", List.of(positions), "positions_f").toBuilder()
        .addAttribute(AttributeProto.newBuilder().setName("to").setType(AttributeProto.AttributeType.INT).setI(TensorProto.DataType.FLOAT_VALUE))
        .build());
    g.addNode(node("Unsqueeze", List.of("positions_f", "axis2"), "positions_col"));
    g.addNode(node("Mul", List.of("positions_col", "slope"), "by_position"));
    g.addNode(node("Add", List.of("by_id", "by_position"), "logits"));
    g.addOutput(value("logits", TensorProto.DataType.FLOAT, "batch", last ? 1 : "seq", VOCAB));

    if (cache) {
      g.addInput(value("past_key_values.0.key", TensorProto.DataType.FLOAT, "batch", 1, "past", 2));
      g.addInput(value("past_key_values.0.value", TensorProto.DataType.FLOAT, "batch", 1, "past", 2));
      g.addNode(node("Gather", List.of("E", "input_ids"), "emb"));
      g.addNode(node("Unsqueeze", List.of("emb", "axis1"), "kv"));
      for (String kv : shape == Shape.MISSING_PRESENT_VALUE ? List.of("key") : List.of("key", "value")) {
        g.addNode(node("Concat", List.of("past_key_values.0." + kv, "kv"), "present.0." + kv).toBuilder()
            .addAttribute(AttributeProto.newBuilder().setName("axis").setType(AttributeProto.AttributeType.INT).setI(2))
            .build());
        g.addOutput(value("present.0." + kv, TensorProto.DataType.FLOAT, "batch", 1, "total", 2));
      }
    }
    return ModelProto.newBuilder()
        .setIrVersion(8)
        .setProducerName("edgelm-test")
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(17))
        .setGraph(g)
        .build();
  }

  private static NodeProto node(String op, List<String> inputs, String output) {
    return NodeProto.newBuilder().setOpType(op).setName(output + "_" + op).addAllInput(inputs).addOutput(output).build();
  }

  /** A value with dimensions given as numbers (fixed) or strings (symbolic). */
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

  private static TensorProto floats(String name, float[] data, long... dims) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.FLOAT_VALUE);
    for (long d : dims) {
      t.addDims(d);
    }
    for (float f : data) {
      t.addFloatData(f);
    }
    return t.build();
  }

  private static TensorProto longs(String name, long value) {
    return TensorProto.newBuilder().setName(name).setDataType(TensorProto.DataType.INT64_VALUE).addDims(1).addInt64Data(value).build();
  }
}
