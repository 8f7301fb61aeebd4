package dev.edgelm.engine;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.TensorInfo;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The inputs and outputs of a decoder graph, discovered from the session's metadata and checked
 * against the Optimum decoder convention (see DESIGN.md, "A model package"). Dimensions the graph
 * leaves symbolic come from the descriptor.
 *
 * @param kvHeads KV heads of each layer (a head-pruned layer keeps fewer): the graph's static
 *     dimension, else the descriptor's per-layer figure, else its {@code num_kv_heads}
 * @param pastNames {@code past_key_values.{i}.key|value}, key then value per layer
 * @param presentNames {@code present.{i}.key|value} in the same order
 * @param logitsLastOnly the graph computes logits for the last position of each call only
 * @param logitsToKeep the graph has a {@code logits_to_keep} input: logits for the last k positions
 *     of a call (0 = all), so a prefill computes the head only where a token is sampled
 * @param sharedKv the graph takes {@code seqlens_k} and {@code total_sequence_length}
 *     (GroupQueryAttention): past and present are one buffer of {@code kvCapacity} positions per
 *     layer, written in place, rather than a new, longer present per call
 * @param kvCapacity positions a shared KV buffer holds (the graph's static past length, else the
 *     context length); 0 for a concatenating graph
 */
record DecoderIo(
    boolean attentionMask,
    boolean positionIds,
    int layers,
    int[] kvHeads,
    int headDim,
    OnnxJavaType kvType,
    int vocabSize,
    boolean logitsLastOnly,
    boolean logitsToKeep,
    boolean sharedKv,
    int kvCapacity,
    String[] pastNames,
    String[] presentNames) {

  static final String INPUT_IDS = "input_ids";
  static final String ATTENTION_MASK = "attention_mask";
  static final String POSITION_IDS = "position_ids";
  static final String LOGITS = "logits";
  static final String LOGITS_TO_KEEP = "logits_to_keep";
  static final String SEQLENS_K = "seqlens_k";
  static final String TOTAL_SEQUENCE_LENGTH = "total_sequence_length";

  static String pastName(int layer, String kv) {
    return "past_key_values." + layer + "." + kv;
  }

  static String presentName(int layer, String kv) {
    return "present." + layer + "." + kv;
  }

  Set<String> presentSet() {
    return new LinkedHashSet<>(List.of(presentNames));
  }

  static DecoderIo discover(Map<String, NodeInfo> inputs, Map<String, NodeInfo> outputs, VariantDescriptor descriptor, Path dir) {
    Path model = dir.resolve(ModelPackage.MODEL_FILE);
    requireType(inputs, INPUT_IDS, OnnxJavaType.INT64, "input", model);
    boolean mask = inputs.containsKey(ATTENTION_MASK);
    if (mask) {
      requireType(inputs, ATTENTION_MASK, OnnxJavaType.INT64, "input", model);
    }
    boolean positions = inputs.containsKey(POSITION_IDS);
    if (positions) {
      requireType(inputs, POSITION_IDS, OnnxJavaType.INT64, "input", model);
    }
    boolean keep = inputs.containsKey(LOGITS_TO_KEEP);
    if (keep) {
      requireType(inputs, LOGITS_TO_KEEP, OnnxJavaType.INT64, "input", model);
    }
    boolean shared = inputs.containsKey(SEQLENS_K);
    if (shared) {
      requireType(inputs, SEQLENS_K, OnnxJavaType.INT32, "input", model);
      requireType(inputs, TOTAL_SEQUENCE_LENGTH, OnnxJavaType.INT32, "input", model);
    }
    TensorInfo logits = requireType(outputs, LOGITS, OnnxJavaType.FLOAT, "output", model);

    int layers = 0;
    while (inputs.containsKey(pastName(layers, "key"))) {
      layers++;
    }
    if (layers == 0) {
      throw new ModelPackageException(model + " has no past_key_values.0.key input; edgelm runs decoders exported with KV-cache inputs and outputs");
    }
    List<String> past = new ArrayList<>();
    List<String> present = new ArrayList<>();
    for (int i = 0; i < layers; i++) {
      for (String kv : new String[] {"key", "value"}) {
        past.add(pastName(i, kv));
        present.add(presentName(i, kv));
      }
    }
    for (String name : past) {
      if (!inputs.containsKey(name)) {
        throw new ModelPackageException(model + " lacks input " + name + " (it has " + layers + " past key inputs)");
      }
    }
    for (String name : present) {
      if (!outputs.containsKey(name)) {
        throw new ModelPackageException(model + " lacks output " + name + " to match its past_key_values inputs");
      }
    }
    Set<String> fed = new LinkedHashSet<>(past);
    fed.add(INPUT_IDS);
    fed.add(ATTENTION_MASK);
    fed.add(POSITION_IDS);
    fed.add(LOGITS_TO_KEEP);
    fed.add(SEQLENS_K);
    fed.add(TOTAL_SEQUENCE_LENGTH);
    for (String name : inputs.keySet()) {
      if (!fed.contains(name)) {
        throw new ModelPackageException(model + " has input " + name + ", which edgelm does not feed (expected the Optimum decoder convention)");
      }
    }

    TensorInfo key0 = (TensorInfo) inputs.get(past.get(0)).getInfo();
    long[] shape = key0.getShape();
    if (shape.length != 4) {
      throw new ModelPackageException(model + ": " + past.get(0) + " has rank " + shape.length + ", expected [batch, kv_heads, past, head_dim]");
    }
    var arch = descriptor.getArchitecture();
    if (arch.getLayerNumKvHeadsCount() != 0 && arch.getLayerNumKvHeadsCount() != layers) {
      throw new ModelPackageException(model + ": the descriptor gives KV heads for " + arch.getLayerNumKvHeadsCount()
          + " layers but the graph has " + layers);
    }
    int[] kvHeads = new int[layers];
    for (int i = 0; i < layers; i++) {
      long[] layerShape = ((TensorInfo) inputs.get(pastName(i, "key")).getInfo()).getShape();
      int declared = arch.getLayerNumKvHeadsCount() == 0 ? arch.getNumKvHeads() : arch.getLayerNumKvHeads(i);
      kvHeads[i] = dimension(layerShape.length == 4 ? layerShape[1] : -1, declared, "KV heads", pastName(i, "key"), model);
    }
    int headDim = dimension(shape[3], arch.getHeadDim(), "head dim", past.get(0), model);
    long[] logitsShape = logits.getShape();
    int vocab = dimension(logitsShape.length == 3 ? logitsShape[2] : -1, arch.getVocabSize(), "vocabulary size", LOGITS, model);
    boolean lastOnly = !keep && "last".equals(descriptor.getGraph().getLogits());
    int capacity = 0;
    if (shared) {
      capacity = shape[2] > 0 ? Math.toIntExact(shape[2]) : arch.getContextLength();
      if (capacity < arch.getContextLength()) {
        throw new ModelPackageException(model + ": " + past.get(0) + " holds " + capacity + " positions, fewer than the context length "
            + arch.getContextLength());
      }
    }
    return new DecoderIo(mask, positions, layers, kvHeads, headDim, key0.type, vocab, lastOnly, keep, shared, capacity,
        past.toArray(String[]::new), present.toArray(String[]::new));
  }

  private static TensorInfo requireType(Map<String, NodeInfo> io, String name, OnnxJavaType type, String kind, Path model) {
    NodeInfo info = io.get(name);
    if (info == null) {
      throw new ModelPackageException(model + " has no " + kind + " " + name);
    }
    if (!(info.getInfo() instanceof TensorInfo tensor) || tensor.type != type) {
      throw new ModelPackageException(model + ": " + kind + " " + name + " is " + info.getInfo() + ", expected a " + type + " tensor");
    }
    return tensor;
  }

  /** A static graph dimension, else the descriptor's; they must agree when both are known. */
  private static int dimension(long fromGraph, int fromDescriptor, String what, String tensor, Path model) {
    if (fromGraph > 0) {
      if (fromDescriptor > 0 && fromDescriptor != fromGraph) {
        throw new ModelPackageException(model + ": " + tensor + " has " + what + " " + fromGraph + " but the descriptor says " + fromDescriptor);
      }
      return Math.toIntExact(fromGraph);
    }
    if (fromDescriptor > 0) {
      return fromDescriptor;
    }
    throw new ModelPackageException(model + ": the " + what + " of " + tensor + " is symbolic and the descriptor does not give it");
  }
}
