package dev.edgelm.compressor.kron;

import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.FactoredWeight;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.MatrixEncoder;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.GraphBuilder;
import java.util.List;

/**
 * A weight made of column groups side by side, each in its own form: the fused attention
 * projection {@code [Q | K | V]} with each of the three factored on its own. Emitted as the parts'
 * outputs concatenated on the feature axis.
 */
final class ColumnGroupsLinear implements FactoredWeight {
  private final List<LinearWeight> parts;
  private final List<String> suffixes;

  ColumnGroupsLinear(List<LinearWeight> parts, List<String> suffixes) {
    if (parts.isEmpty() || parts.size() != suffixes.size()) {
      throw new IllegalArgumentException("need one suffix per part");
    }
    for (LinearWeight p : parts) {
      if (p.inFeatures() != parts.get(0).inFeatures()) {
        throw new IllegalArgumentException("column groups must share their input width");
      }
    }
    this.parts = List.copyOf(parts);
    this.suffixes = List.copyOf(suffixes);
  }

  List<LinearWeight> parts() {
    return parts;
  }

  List<String> suffixes() {
    return suffixes;
  }

  /** Each factored part re-stored by {@code encoder}; each dense part re-stored by it as a plain matrix. */
  @Override
  public LinearWeight withMatrices(String name, MatrixEncoder encoder) {
    List<LinearWeight> out = new java.util.ArrayList<>();
    for (int i = 0; i < parts.size(); i++) {
      LinearWeight p = parts.get(i);
      String partName = name + "." + suffixes.get(i);
      LinearWeight restored = null;
      if (p instanceof FactoredWeight f) {
        restored = f.withMatrices(partName, encoder);
      } else if (p instanceof DenseLinear d) {
        restored = encoder.matrix(partName, d.weight());
      }
      out.add(restored == null ? p : restored);
    }
    return new ColumnGroupsLinear(out, suffixes);
  }

  @Override
  public int inFeatures() {
    return parts.get(0).inFeatures();
  }

  @Override
  public int outFeatures() {
    return parts.stream().mapToInt(LinearWeight::outFeatures).sum();
  }

  @Override
  public long parameterCount() {
    return parts.stream().mapToLong(LinearWeight::parameterCount).sum();
  }

  @Override
  public String emit(GraphBuilder graph, String x, String name) {
    String[] outputs = new String[parts.size()];
    for (int i = 0; i < parts.size(); i++) {
      outputs[i] = parts.get(i).emit(graph, x, name + "." + suffixes.get(i));
    }
    return graph.node("Concat").in(outputs).attr(Attr.i("axis", -1)).out(name + "/concat");
  }

  @Override
  public Tensor toDense() {
    return Tensor.concatColumns(parts.stream().map(LinearWeight::toDense).toArray(Tensor[]::new));
  }
}
