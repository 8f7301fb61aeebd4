package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.ir.EmbeddingTable;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * A token embedding table E [vocab, dim] stored once, quantized as the tied head's weight Eᵀ
 * [in=dim, out=vocab]: output channel v of the head is embedding row v. The lookup gathers and
 * dequantizes rows; the tied head multiplies by the same initializers ({@link QuantizedOps}), so the
 * package holds one quantized copy of the table for both uses.
 */
final class QuantizedEmbedding implements EmbeddingTable {
  static final String PREFIX = "tok_embed";

  private final QuantizedMatrix headWeight;
  private final int accuracyLevel;

  /** @param headWeight Eᵀ quantized: in = dim, out = vocab */
  QuantizedEmbedding(QuantizedMatrix headWeight, int accuracyLevel) {
    this.headWeight = headWeight;
    this.accuracyLevel = accuracyLevel;
  }

  @Override
  public int vocabSize() {
    return headWeight.out;
  }

  @Override
  public int dim() {
    return headWeight.in;
  }

  @Override
  public long parameterCount() {
    return (long) headWeight.in * headWeight.out;
  }

  @Override
  public String emitLookup(GraphBuilder graph, String ids, String name) {
    return QuantizedOps.lookup(graph, ids, name, PREFIX, headWeight);
  }

  @Override
  public LinearWeight tiedHead() {
    return new TiedHead();
  }

  @Override
  public Tensor toDense() {
    return headWeight.toDense().transpose();
  }

  private final class TiedHead implements LinearWeight {
    @Override
    public int inFeatures() {
      return headWeight.in;
    }

    @Override
    public int outFeatures() {
      return headWeight.out;
    }

    @Override
    public long parameterCount() {
      return 0; // counted once, with the embedding
    }

    @Override
    public String emit(GraphBuilder graph, String x, String name) {
      return QuantizedOps.matMul(graph, x, name, PREFIX, headWeight, accuracyLevel);
    }

    @Override
    public Tensor toDense() {
      return headWeight.toDense();
    }
  }
}
