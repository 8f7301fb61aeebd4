package dev.edgelm.compressor.ir;

import dev.edgelm.compressor.onnx.GraphBuilder;

/**
 * The token embedding table [vocab, dim] in whatever form a method stores it. When the model ties
 * its output head to the embedding, {@link #tiedHead()} gives the head that shares these parameters.
 */
public interface EmbeddingTable {
  int vocabSize();

  int dim();

  long parameterCount();

  /** Adds nodes looking up {@code ids} [...] ; returns the name of the [..., dim] embeddings. */
  String emitLookup(GraphBuilder graph, String ids, String name);

  /** The output head {@code x · Eᵀ} sharing this table's parameters. */
  LinearWeight tiedHead();

  /** The dense fp32 table [vocab, dim]. */
  Tensor toDense();
}
