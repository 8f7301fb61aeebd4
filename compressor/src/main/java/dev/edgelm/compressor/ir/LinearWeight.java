package dev.edgelm.compressor.ir;

import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * The weight of a linear layer, {@code y = x · W} with {@code W} of shape [in, out], in whatever
 * form a method stores it: dense fp32, quantized, factored. Each form knows how to express itself
 * as ONNX nodes, so the decoder emitter needs no knowledge of compression methods.
 *
 * <p>Implementations are immutable.
 */
public interface LinearWeight {
  int inFeatures();

  int outFeatures();

  /** Parameters this form stores (a quantized weight stores as many as its dense original; factors fewer). */
  long parameterCount();

  /**
   * Adds nodes and initializers computing {@code x · W} for an input {@code x} of shape [..., in];
   * returns the name of the output value of shape [..., out].
   *
   * @param name a unique prefix for values and initializers, e.g. {@code layers.3.mlp.up}
   */
  String emit(GraphBuilder graph, String x, String name);

  /** The dense fp32 equivalent, [in, out] (for evaluation and for methods that start from it). */
  Tensor toDense();
}
