package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.ModelIr;

/**
 * The cost formula of a model whose weights are dense fp32 or Kronecker-factored, per decoded token
 * at batch 1: the bytes of weights the step reads and the multiply-adds of its linear layers.
 *
 * <ul>
 *   <li>dense {@code in × out}: {@code 4·in·out} bytes, {@code in·out} multiply-adds;
 *   <li>factored {@code (m1×n1)⊗(m2×n2)} at rank R: {@code 4·R·(m1n1 + m2n2)} bytes (plus 8 per
 *       permutation index), and {@code min(R·m2·n1·(m1 + n2), R·m1·n2·(m2 + n1))} multiply-adds
 *       (A first or B first, see {@link KronShape#multiplyAdds});
 *   <li>the token embedding: one row is read per token, but its bytes count in full when it is tied
 *       to the head (the head reads all of it); biases and norms are counted in bytes only;
 *   <li>attention over the KV cache is the same for every variant and is left out.
 * </ul>
 * Batch-1 decoding is memory-bound, so time per token is expected to scale between the bytes
 * ratio (bandwidth-bound) and the multiply-add ratio (compute-bound).
 *
 * @param parameters stored parameters
 * @param weightBytes bytes of all weight initializers
 * @param multiplyAdds multiply-adds per token in the linear layers and the head
 */
public record KronCost(long parameters, long weightBytes, long multiplyAdds) {
  /** The cost of {@code model}. */
  public static KronCost of(ModelIr model) {
    long bytes = 0;
    long macs = 0;
    long params = model.parameterCount();
    bytes += embeddingBytes(model);
    if (model.positionEmbedding() != null) {
      bytes += 4L * model.positionEmbedding().size();
    }
    for (Linear l : model.linears().values()) {
      bytes += weightBytes(l.weight()) + (l.bias() == null ? 0 : 4L * l.bias().size());
      macs += multiplyAdds(l.weight());
    }
    if (model.head() == null) {
      macs += model.tokenEmbedding() instanceof KroneckerEmbedding k
          ? k.tiedHeadMultiplyAdds()
          : (long) model.tokenEmbedding().vocabSize() * model.tokenEmbedding().dim();
    }
    long norms = 4L * model.finalNorm().parameterCount();
    for (var b : model.blocks()) {
      norms += 4L * (b.attnNorm().parameterCount() + b.mlpNorm().parameterCount());
    }
    return new KronCost(params, bytes + norms, macs);
  }

  private static long embeddingBytes(ModelIr model) {
    if (model.tokenEmbedding() instanceof KroneckerEmbedding k) {
      return k.storedBytes();
    }
    return 4L * model.tokenEmbedding().parameterCount();
  }

  static long weightBytes(LinearWeight w) {
    if (w instanceof KroneckerLinear k) {
      return k.storedBytes();
    }
    if (w instanceof ColumnGroupsLinear g) {
      return g.parts().stream().mapToLong(KronCost::weightBytes).sum();
    }
    return 4L * w.parameterCount();
  }

  static long multiplyAdds(LinearWeight w) {
    if (w instanceof KroneckerLinear k) {
      return k.shape().multiplyAdds();
    }
    if (w instanceof ColumnGroupsLinear g) {
      return g.parts().stream().mapToLong(KronCost::multiplyAdds).sum();
    }
    return (long) w.inFeatures() * w.outFeatures();
  }
}
