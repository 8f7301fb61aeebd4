package dev.edgelm.compressor.ir;

import dev.edgelm.compressor.onnx.GraphBuilder;

/** An uncompressed fp32 weight [in, out], emitted as one MatMul. */
public record DenseLinear(Tensor weight) implements LinearWeight {
  public DenseLinear {
    if (weight.rank() != 2) {
      throw new IllegalArgumentException("linear weight must be a matrix, got " + weight);
    }
  }

  @Override
  public int inFeatures() {
    return weight.rows();
  }

  @Override
  public int outFeatures() {
    return weight.cols();
  }

  @Override
  public long parameterCount() {
    return (long) weight.size();
  }

  @Override
  public String emit(GraphBuilder graph, String x, String name) {
    String w = graph.initializer(name + ".weight", weight);
    return graph.node("MatMul").in(x, w).out(name + "/matmul");
  }

  @Override
  public Tensor toDense() {
    return weight;
  }
}
