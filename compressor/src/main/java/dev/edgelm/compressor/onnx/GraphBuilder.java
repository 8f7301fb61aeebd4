package dev.edgelm.compressor.onnx;

import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.proto.onnx.AttributeProto;
import dev.edgelm.proto.onnx.NodeProto;
import dev.edgelm.proto.onnx.TensorShapeProto;
import dev.edgelm.proto.onnx.TypeProto;
import dev.edgelm.proto.onnx.ValueInfoProto;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * Builds an ONNX graph: nodes in topological order, initializers whose bytes are produced only when
 * the model is written ({@link OnnxModelWriter}), graph inputs and outputs.
 *
 * <p>Value names are single-assignment: naming a value twice is a programming error and throws.
 * Small constants are deduplicated by value. Not thread-safe.
 */
public final class GraphBuilder {
  /** The default ONNX operator domain. */
  public static final String ONNX = "";
  /** ONNX Runtime's contrib operator domain. */
  public static final String MICROSOFT = "com.microsoft";

  /** An initializer: its metadata and its bytes, produced when written. */
  public record Initializer(String name, DataType type, long[] dims, Payload payload) {}

  private final String name;
  private final List<NodeProto> nodes = new ArrayList<>();
  private final Map<String, Initializer> initializers = new LinkedHashMap<>();
  private final List<ValueInfoProto> inputs = new ArrayList<>();
  private final List<ValueInfoProto> outputs = new ArrayList<>();
  private final java.util.Set<String> defined = new java.util.HashSet<>();
  private final Map<String, String> constants = new HashMap<>();
  private final SortedSet<String> opsUsed = new TreeSet<>();

  public GraphBuilder(String name) {
    this.name = name;
  }

  public String name() {
    return name;
  }

  /** Starts a node of the default domain. */
  public NodeBuilder node(String opType) {
    return new NodeBuilder(ONNX, opType);
  }

  /** Starts a node of {@code domain}. */
  public NodeBuilder node(String domain, String opType) {
    return new NodeBuilder(domain, opType);
  }

  /** Adds an fp32 initializer holding {@code t} (written when the model is written). */
  public String initializer(String valueName, Tensor t) {
    long[] dims = Arrays.stream(t.shape()).asLongStream().toArray();
    return initializer(valueName, DataType.FLOAT, dims, Payload.ofFloats(t.data()));
  }

  /** Adds an initializer of any type from a payload of exactly {@code numel * bytesPerElement} bytes. */
  public String initializer(String valueName, DataType type, long[] dims, Payload payload) {
    long numel = 1;
    for (long d : dims) {
      numel *= d;
    }
    long expected = type == DataType.UINT8 || type == DataType.INT8 || type == DataType.BOOL
        ? numel : numel * type.bytesPerElement();
    if (payload.byteSize() != expected) {
      throw new IllegalArgumentException("initializer " + valueName + " " + Arrays.toString(dims) + " of "
          + type + " needs " + expected + " bytes, payload has " + payload.byteSize());
    }
    define(valueName);
    initializers.put(valueName, new Initializer(valueName, type, dims.clone(), payload));
    return valueName;
  }

  /** A 1-D int64 constant, deduplicated by value. */
  public String int64s(long... values) {
    String key = "i64" + Arrays.toString(values);
    return constants.computeIfAbsent(key, k -> initializer(
        "const/i64/" + constants.size(), DataType.INT64, new long[] {values.length}, Payload.ofLongs(values)));
  }

  /** A scalar (rank-0) int64 constant, deduplicated by value. */
  public String int64Scalar(long value) {
    String key = "i64s" + value;
    return constants.computeIfAbsent(key, k -> initializer(
        "const/i64s/" + constants.size(), DataType.INT64, new long[0], Payload.ofLongs(new long[] {value})));
  }

  /** A scalar (rank-0) fp32 constant, deduplicated by value. */
  public String floatScalar(float value) {
    String key = "f32s" + Float.floatToIntBits(value);
    return constants.computeIfAbsent(key, k -> initializer(
        "const/f32s/" + constants.size(), DataType.FLOAT, new long[0], Payload.ofFloats(new float[] {value})));
  }

  /**
   * Declares a graph input. Each dimension is a {@code Number} (fixed) or a {@code String}
   * (symbolic, e.g. {@code "batch"}).
   */
  public String input(String valueName, DataType type, Object... dims) {
    define(valueName);
    inputs.add(valueInfo(valueName, type, dims));
    return valueName;
  }

  /** Declares an already defined value as a graph output. */
  public void output(String valueName, DataType type, Object... dims) {
    if (!defined.contains(valueName)) {
      throw new IllegalArgumentException("output " + valueName + " is not produced by the graph");
    }
    outputs.add(valueInfo(valueName, type, dims));
  }

  private static ValueInfoProto valueInfo(String valueName, DataType type, Object... dims) {
    TensorShapeProto.Builder shape = TensorShapeProto.newBuilder();
    for (Object d : dims) {
      if (d instanceof Number n) {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimValue(n.longValue()));
      } else {
        shape.addDim(TensorShapeProto.Dimension.newBuilder().setDimParam(d.toString()));
      }
    }
    return ValueInfoProto.newBuilder()
        .setName(valueName)
        .setType(TypeProto.newBuilder()
            .setTensorType(TypeProto.Tensor.newBuilder().setElemType(type.code()).setShape(shape)))
        .build();
  }

  private void define(String valueName) {
    if (!defined.add(valueName)) {
      throw new IllegalStateException("value '" + valueName + "' is defined twice");
    }
  }

  /** Whether a value of this name exists (input, initializer or node output). */
  public boolean isDefined(String valueName) {
    return defined.contains(valueName);
  }

  public List<NodeProto> nodes() {
    return Collections.unmodifiableList(nodes);
  }

  public List<Initializer> initializers() {
    return List.copyOf(initializers.values());
  }

  public List<ValueInfoProto> inputs() {
    return Collections.unmodifiableList(inputs);
  }

  public List<ValueInfoProto> outputs() {
    return Collections.unmodifiableList(outputs);
  }

  /** Operators used, as {@code domain:OpType} with {@code ai.onnx} for the default domain, sorted. */
  public List<String> opsUsed() {
    return List.copyOf(opsUsed);
  }

  /**
   * Keeps only the graph outputs named in {@code keep} and what computes them: the nodes they depend
   * on and the initializers and inputs those read; everything else is removed. ONNX Runtime runs
   * every node of a graph whatever outputs a caller fetches, so a graph derived for another purpose
   * (e.g. capturing calibration activations without computing logits) is pruned before it is written.
   *
   * @throws IllegalArgumentException when a name in {@code keep} is not a graph output
   */
  public void pruneTo(Collection<String> keep) {
    Set<String> keepSet = new HashSet<>(keep);
    for (String k : keepSet) {
      if (outputs.stream().noneMatch(o -> o.getName().equals(k))) {
        throw new IllegalArgumentException("'" + k + "' is not a graph output");
      }
    }
    outputs.removeIf(o -> !keepSet.contains(o.getName()));
    Set<String> needed = new HashSet<>(keepSet);
    List<NodeProto> kept = new ArrayList<>();
    for (int i = nodes.size() - 1; i >= 0; i--) {
      NodeProto n = nodes.get(i);
      if (n.getOutputList().stream().anyMatch(needed::contains)) {
        kept.add(n);
        needed.addAll(n.getInputList());
      }
    }
    Collections.reverse(kept);
    nodes.clear();
    nodes.addAll(kept);
    initializers.keySet().retainAll(needed);
    inputs.removeIf(in -> !needed.contains(in.getName()));
    defined.retainAll(needed);
    for (NodeProto n : nodes) {
      defined.addAll(n.getOutputList());
    }
    constants.values().removeIf(c -> !initializers.containsKey(c));
    opsUsed.clear();
    for (NodeProto n : nodes) {
      opsUsed.add((n.getDomain().isEmpty() ? "ai.onnx" : n.getDomain()) + ":" + n.getOpType());
    }
  }

  /** Whether any node uses {@code domain}. */
  public boolean usesDomain(String domain) {
    return nodes.stream().anyMatch(n -> n.getDomain().equals(domain));
  }

  /** Total bytes of all initializers. */
  public long initializerBytes() {
    return initializers.values().stream().mapToLong(i -> i.payload().byteSize()).sum();
  }

  /** A fluent builder for one node; finish it with {@link #out(String)} or {@link #outs(String...)}. */
  public final class NodeBuilder {
    private final NodeProto.Builder node;

    private NodeBuilder(String domain, String opType) {
      node = NodeProto.newBuilder().setOpType(opType).setDomain(domain);
    }

    /** Inputs in order; an empty string marks an omitted optional input. */
    public NodeBuilder in(String... values) {
      for (String v : values) {
        if (!v.isEmpty() && !defined.contains(v)) {
          throw new IllegalArgumentException(node.getOpType() + " input '" + v + "' is not defined");
        }
        node.addInput(v);
      }
      return this;
    }

    public NodeBuilder attr(AttributeProto attribute) {
      node.addAttribute(attribute);
      return this;
    }

    /** Finishes the node with one output; returns its name. */
    public String out(String output) {
      outs(output);
      return output;
    }

    /** Finishes the node with several outputs. */
    public void outs(String... outputNames) {
      for (String o : outputNames) {
        define(o);
        node.addOutput(o);
      }
      String op = node.getOpType();
      nodes.add(node.build());
      opsUsed.add((node.getDomain().isEmpty() ? "ai.onnx" : node.getDomain()) + ":" + op);
    }
  }
}
