package dev.edgelm.compressor.ir;

/** An embedding table made of smaller stored matrices; see {@link FactoredWeight}. */
public interface FactoredEmbedding extends EmbeddingTable {
  /** This table with each stored matrix replaced by what {@code encoder} makes of it. */
  EmbeddingTable withMatrices(MatrixEncoder encoder);
}
