package dev.edgelm.compressor.ir;

import dev.edgelm.compressor.onnx.GraphBuilder;

/** A linear layer: a weight in some form plus an optional fp32 bias [out]. */
public record Linear(LinearWeight weight, Tensor bias) {
  public Linear {
    if (bias != null && (bias.rank() != 1 || bias.size() != weight.outFeatures())) {
      throw new IllegalArgumentException(
          "bias " + bias + " does not match " + weight.outFeatures() + " output features");
    }
  }

  public static Linear dense(Tensor weight, Tensor bias) {
    return new Linear(new DenseLinear(weight), bias);
  }

  public int inFeatures() {
    return weight.inFeatures();
  }

  public int outFeatures() {
    return weight.outFeatures();
  }

  public Linear withWeight(LinearWeight replacement) {
    if (replacement.inFeatures() != weight.inFeatures() || replacement.outFeatures() != weight.outFeatures()) {
      throw new IllegalArgumentException("replacement weight is " + replacement.inFeatures() + "x"
          + replacement.outFeatures() + ", layer is " + weight.inFeatures() + "x" + weight.outFeatures());
    }
    return new Linear(replacement, bias);
  }

  public long parameterCount() {
    return weight.parameterCount() + (bias == null ? 0 : bias.size());
  }

  /** Emits {@code x · W + b}; returns the output value name. */
  public String emit(GraphBuilder graph, String x, String name) {
    String y = weight.emit(graph, x, name);
    if (bias == null) {
      return y;
    }
    String b = graph.initializer(name + ".bias", bias);
    return graph.node("Add").in(y, b).out(name + "/out");
  }
}
