package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * A quantized linear weight: int4 as one {@code com.microsoft:MatMulNBits}, int8 as one
 * {@code com.microsoft:DynamicQuantizeMatMul} (activations quantized to 8 bits per call). See
 * {@link QuantizedOps} for the layouts.
 */
final class QuantizedLinear implements LinearWeight {
  private final QuantizedMatrix matrix;
  private final int accuracyLevel;

  QuantizedLinear(QuantizedMatrix matrix, int accuracyLevel) {
    this.matrix = matrix;
    this.accuracyLevel = accuracyLevel;
  }

  @Override
  public int inFeatures() {
    return matrix.in;
  }

  @Override
  public int outFeatures() {
    return matrix.out;
  }

  @Override
  public long parameterCount() {
    return (long) matrix.in * matrix.out;
  }

  @Override
  public String emit(GraphBuilder graph, String x, String name) {
    return QuantizedOps.matMul(graph, x, name, name, matrix, accuracyLevel);
  }

  @Override
  public Tensor toDense() {
    return matrix.toDense();
  }
}
