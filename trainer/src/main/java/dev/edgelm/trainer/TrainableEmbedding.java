package dev.edgelm.trainer;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.EmbeddingTable;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.kron.KronForms;
import dev.edgelm.compressor.kron.KronShape;
import java.util.List;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * The token embedding's trainable values: a dense table, or Kronecker factors with the column
 * permutation held fixed. {@link #table()} is [vocab, dim]; a tied head reads the same table, so
 * both uses train the one set of parameters.
 */
sealed interface TrainableEmbedding {
  org.bytedeco.pytorch.Tensor table();

  List<org.bytedeco.pytorch.Tensor> parameters();

  EmbeddingTable toIr();

  static TrainableEmbedding of(EmbeddingTable e) {
    if (e instanceof DenseEmbedding d) {
      return new Dense(Torch.parameter(d.table().data(), d.vocabSize(), d.dim()));
    }
    KronForms.Factors f = KronForms.of(e);
    if (f != null) {
      return new Kronecker(f);
    }
    throw new UsageException("distill cannot train the token embedding: it is stored as " + e.getClass().getSimpleName()
        + ", which the trainer cannot express; put distill before quantization (e.g. kron,distill,int4)");
  }

  record Dense(org.bytedeco.pytorch.Tensor t) implements TrainableEmbedding {
    @Override
    public org.bytedeco.pytorch.Tensor table() {
      return t;
    }

    @Override
    public List<org.bytedeco.pytorch.Tensor> parameters() {
      return List.of(t);
    }

    @Override
    public EmbeddingTable toIr() {
      return new DenseEmbedding(Tensor.of(Torch.toFloats(t), (int) t.size(0), (int) t.size(1)));
    }
  }

  final class Kronecker implements TrainableEmbedding {
    private final KronForms.Factors original;
    private final org.bytedeco.pytorch.Tensor a;
    private final org.bytedeco.pytorch.Tensor b;
    private final org.bytedeco.pytorch.Tensor cols;

    Kronecker(KronForms.Factors f) {
      KronShape s = f.shape();
      this.original = f;
      this.a = Torch.parameter(f.a(), s.rank(), s.m1(), s.n1());
      this.b = Torch.parameter(f.b(), s.rank(), s.m2(), s.n2());
      this.cols = f.colPositions() == null ? null : Torch.indices(f.colPositions());
    }

    @Override
    public org.bytedeco.pytorch.Tensor table() {
      KronShape s = original.shape();
      org.bytedeco.pytorch.Tensor k = torch.einsum("rac,rbd->abcd", new TensorVector(a, b)).reshape(s.in(), s.out());
      return cols == null ? k : k.index_select(1, cols);
    }

    @Override
    public List<org.bytedeco.pytorch.Tensor> parameters() {
      return List.of(a, b);
    }

    @Override
    public EmbeddingTable toIr() {
      return KronForms.embedding(new KronForms.Factors(original.shape(), Torch.toFloats(a), Torch.toFloats(b), null,
          original.colPositions()));
    }
  }
}
