package dev.edgelm.compressor.subspace;

import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.HeadAdapter;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * Projects a folded model ({@link RotationFold}) onto the span of an orthonormal basis Q (d×K):
 * tables and writers are multiplied by Q on the right, readers by √(d/K)·Qᵀ on the left, and the
 * K-wide RMSNorms take ε·d/K, so that they divide by the d-wide root mean square the readers were
 * fitted to (see the package notes). A tied head's adapter maps the K-wide stream to the table's
 * K coordinates (√(d/K)·Qᵀ A [Q ⊕ 1]); with {@code untie} the head becomes its own K × vocab matrix
 * instead, √(d/K)·Qᵀ A [E | m]ᵀ, which reads the stream exactly but stores the table twice.
 */
final class Projection {
  private Projection() {}

  static ModelIr project(ModelIr folded, double[] q, int k, boolean untie) {
    ModelConfig c = folded.config();
    int d = c.hiddenSize();
    double factor = Math.sqrt((double) d / k);
    boolean tied = folded.head() == null;
    ModelConfig pc = new ModelConfig(c.family(), c.vocabSize(), k, c.intermediateSize(), c.numLayers(), c.numHeads(),
        c.numKvHeads(), c.headDim(), c.contextLength(), (float) (c.normEps() * d / k), c.ropeTheta(), tied && !untie,
        c.activation());
    Norm unit = Norm.rms(Tensor.filled(1f, k));
    List<Block> blocks = new ArrayList<>();
    for (Block b : folded.blocks()) {
      blocks.add(new Block(unit, reader(b.qkv(), q, k, factor), writer(b.attnOut(), q, k), unit, reader(b.up(), q, k, factor),
          b.gate() == null ? null : reader(b.gate(), q, k, factor), writer(b.down(), q, k)));
    }
    Tensor table = folded.tokenEmbedding().toDense();
    Tensor pos = folded.positionEmbedding() == null ? null : Dense.right(folded.positionEmbedding(), q, k);
    DenseEmbedding embedding = new DenseEmbedding(Dense.right(table, q, k));
    if (!tied) {
      return new ModelIr(pc, embedding, pos, blocks, unit, reader(folded.head(), q, k, factor), null);
    }
    HeadAdapter a = folded.headAdapter();
    Tensor aw = Dense.left(q, k, a.transform().weight().toDense(), factor); // K × (d [+1])
    Tensor ab = a.transform().bias();
    if (untie) {
      Tensor rows = a.rowMeans() == null ? table : Tensor.concatColumns(table, a.rowMeans().reshape(c.vocabSize(), 1));
      Linear head = Linear.dense(timesTransposed(aw, rows), ab == null ? null : timesTransposed(ab.reshape(1, ab.size()), rows)
          .reshape(c.vocabSize()));
      return new ModelIr(pc, embedding, pos, blocks, unit, head, null);
    }
    boolean means = a.rowMeans() != null;
    double[] qo = means ? Dense.withPassThrough(q, d, k) : q;
    int out = means ? k + 1 : k;
    Linear transform = Linear.dense(Dense.right(aw, qo, out), ab == null ? null : Dense.right(ab, qo, out));
    return new ModelIr(pc, embedding, pos, blocks, unit, null, new HeadAdapter(transform, a.rowMeans()));
  }

  private static Linear reader(Linear l, double[] q, int k, double factor) {
    return Linear.dense(Dense.left(q, k, l.weight().toDense(), factor), l.bias());
  }

  private static Linear writer(Linear l, double[] q, int k) {
    return Linear.dense(Dense.right(l.weight().toDense(), q, k), l.bias() == null ? null : Dense.right(l.bias(), q, k));
  }

  /** A·Bᵀ for A [r, c] and B [n, c]: [r, n]. */
  private static Tensor timesTransposed(Tensor a, Tensor b) {
    int r = a.rows();
    int c = a.cols();
    int n = b.rows();
    float[] x = a.data();
    float[] y = b.data();
    float[] out = new float[r * n];
    IntStream.range(0, n).parallel().forEach(v -> {
      for (int i = 0; i < r; i++) {
        double s = 0;
        for (int j = 0; j < c; j++) {
          s += (double) x[i * c + j] * y[v * c + j];
        }
        out[i * n + v] = (float) s;
      }
    });
    return Tensor.of(out, r, n);
  }
}
