package dev.edgelm.trainer;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.kron.KronForms;
import dev.edgelm.compressor.kron.KronShape;
import java.util.ArrayList;
import java.util.List;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;

/**
 * A linear weight's trainable values in libtorch, in the parametrisation the IR stores: a dense
 * matrix (also what pruning leaves, only narrower), Kronecker factors with their permutations held
 * fixed, or column groups of those. {@link #weight()} builds {@code W} [in, out] from the
 * parameters on every call, so gradients reach the factors; {@link #toIr()} writes the current
 * values back in the same form.
 */
sealed interface TrainableLinear {
  /** {@code W} [in, out] as a differentiable function of the parameters. */
  org.bytedeco.pytorch.Tensor weight();

  List<org.bytedeco.pytorch.Tensor> parameters();

  LinearWeight toIr();

  /**
   * @throws UsageException for a form the trainer cannot express (e.g. quantized weights)
   */
  static TrainableLinear of(String name, LinearWeight w) {
    if (w instanceof DenseLinear d) {
      return new Dense(Torch.parameter(d.weight().data(), d.inFeatures(), d.outFeatures()));
    }
    KronForms.Factors f = KronForms.of(w);
    if (f != null) {
      return new Kronecker(f);
    }
    List<LinearWeight> parts = KronForms.columnGroups(w);
    if (parts != null) {
      List<TrainableLinear> ts = new ArrayList<>();
      for (int i = 0; i < parts.size(); i++) {
        ts.add(of(name + "." + i, parts.get(i)));
      }
      return new Groups(w, ts);
    }
    throw new UsageException("distill cannot train " + name + ": its weight is stored as " + w.getClass().getSimpleName()
        + ", which the trainer cannot express; put distill before quantization (e.g. kron,distill,int4)");
  }

  record Dense(org.bytedeco.pytorch.Tensor w) implements TrainableLinear {
    @Override
    public org.bytedeco.pytorch.Tensor weight() {
      return w;
    }

    @Override
    public List<org.bytedeco.pytorch.Tensor> parameters() {
      return List.of(w);
    }

    @Override
    public LinearWeight toIr() {
      return new DenseLinear(Tensor.of(Torch.toFloats(w), (int) w.size(0), (int) w.size(1)));
    }
  }

  /** {@code Ŵ[i, j] = (Σ_r A_r ⊗ B_r)[rowPos[i], colPos[j]]}; A and B train, the permutations do not. */
  final class Kronecker implements TrainableLinear {
    private final KronForms.Factors original;
    private final org.bytedeco.pytorch.Tensor a;
    private final org.bytedeco.pytorch.Tensor b;
    private final org.bytedeco.pytorch.Tensor rows;
    private final org.bytedeco.pytorch.Tensor cols;

    Kronecker(KronForms.Factors f) {
      KronShape s = f.shape();
      this.original = f;
      this.a = Torch.parameter(f.a(), s.rank(), s.m1(), s.n1());
      this.b = Torch.parameter(f.b(), s.rank(), s.m2(), s.n2());
      this.rows = f.rowPositions() == null ? null : Torch.indices(f.rowPositions());
      this.cols = f.colPositions() == null ? null : Torch.indices(f.colPositions());
    }

    /** The factored product [m1·m2, n1·n2] with both permutations applied. */
    @Override
    public org.bytedeco.pytorch.Tensor weight() {
      KronShape s = original.shape();
      org.bytedeco.pytorch.Tensor k = torch.einsum("rac,rbd->abcd", new TensorVector(a, b)).reshape(s.in(), s.out());
      if (rows != null) {
        k = k.index_select(0, rows);
      }
      if (cols != null) {
        k = k.index_select(1, cols);
      }
      return k;
    }

    @Override
    public List<org.bytedeco.pytorch.Tensor> parameters() {
      return List.of(a, b);
    }

    KronForms.Factors factors() {
      return new KronForms.Factors(original.shape(), Torch.toFloats(a), Torch.toFloats(b), original.rowPositions(),
          original.colPositions());
    }

    @Override
    public LinearWeight toIr() {
      return KronForms.linear(factors());
    }
  }

  /** Column groups side by side (the fused Q|K|V of a Kronecker step), each part in its own form. */
  record Groups(LinearWeight original, List<TrainableLinear> parts) implements TrainableLinear {
    @Override
    public org.bytedeco.pytorch.Tensor weight() {
      TensorVector ws = new TensorVector();
      for (TrainableLinear p : parts) {
        ws.push_back(p.weight());
      }
      return torch.cat(ws, 1);
    }

    @Override
    public List<org.bytedeco.pytorch.Tensor> parameters() {
      return parts.stream().flatMap(p -> p.parameters().stream()).toList();
    }

    @Override
    public LinearWeight toIr() {
      return KronForms.withColumnGroups(original, parts.stream().map(TrainableLinear::toIr).toList());
    }
  }
}
