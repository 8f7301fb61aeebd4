package dev.edgelm.compressor.ir;

/**
 * Re-stores the matrices inside a composite weight form ({@link FactoredWeight}) in another
 * number format: what a quantization step hands a Kronecker-factored layer, so the factor
 * matrices are quantized while the structure around them (reshapes, permutations) stays as it is.
 */
public interface MatrixEncoder {
  /**
   * The form to multiply by {@code w} [K, N] (for inputs [..., K]), or null to keep it fp32.
   *
   * @param name the matrix's canonical name, e.g. {@code layers.1.mlp.up.kron_a}
   */
  LinearWeight matrix(String name, Tensor w);

  /**
   * A table [rows, cols] that is both looked up by row and multiplied transposed ({@code x · tᵀ},
   * a tied head), or null to keep it fp32.
   */
  EmbeddingTable table(String name, Tensor t);
}
