package dev.edgelm.compressor.ir;

import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.GraphBuilder;

/** An fp32 embedding table [vocab, dim]: a Gather, and as a tied head a Gemm with transB. */
public record DenseEmbedding(Tensor table) implements EmbeddingTable {
  /** Name of the table initializer; the tied head refers to the same initializer. */
  public static final String INITIALIZER = "tok_embed.weight";

  public DenseEmbedding {
    if (table.rank() != 2) {
      throw new IllegalArgumentException("embedding table must be a matrix, got " + table);
    }
  }

  @Override
  public int vocabSize() {
    return table.rows();
  }

  @Override
  public int dim() {
    return table.cols();
  }

  @Override
  public long parameterCount() {
    return table.size();
  }

  @Override
  public String emitLookup(GraphBuilder graph, String ids, String name) {
    return graph.node("Gather").in(tableValue(graph), ids).out(name + "/gather");
  }

  private String tableValue(GraphBuilder graph) {
    return graph.isDefined(INITIALIZER) ? INITIALIZER : graph.initializer(INITIALIZER, table);
  }

  @Override
  public LinearWeight tiedHead() {
    return new TiedHead();
  }

  @Override
  public Tensor toDense() {
    return table;
  }

  /**
   * {@code x · Eᵀ} without a transposed copy of E: flatten x to [n, dim], Gemm with transB=1, and
   * restore the leading dimensions.
   */
  private final class TiedHead implements LinearWeight {
    @Override
    public int inFeatures() {
      return table.cols();
    }

    @Override
    public int outFeatures() {
      return table.rows();
    }

    @Override
    public long parameterCount() {
      return 0; // counted once, with the embedding
    }

    @Override
    public String emit(GraphBuilder graph, String x, String name) {
      String flat = graph.node("Reshape").in(x, graph.int64s(-1, table.cols())).out(name + "/flat");
      String y2 = graph.node("Gemm").in(flat, tableValue(graph))
          .attr(Attr.i("transB", 1)).out(name + "/gemm");
      String lead = graph.node("Shape").in(x).attr(Attr.i("end", -1)).out(name + "/lead_shape");
      String shape = graph.node("Concat").in(lead, graph.int64s(table.rows()))
          .attr(Attr.i("axis", 0)).out(name + "/out_shape");
      return graph.node("Reshape").in(y2, shape).out(name + "/out");
    }

    @Override
    public Tensor toDense() {
      return table.transpose();
    }
  }
}
