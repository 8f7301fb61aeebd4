package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.GraphBuilder;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** The emitted factored forms compute what {@code toDense()} says, in ONNX Runtime. */
class KroneckerEmissionTest {
  static Stream<Arguments> linearCases() {
    return Stream.of(
        // TQ's MLP shapes, scaled down: A-first for c_fc's, B-first for c_proj's mirror.
        Arguments.of(new KronShape(12, 16, 2, 4, 4), false, false),
        Arguments.of(new KronShape(16, 12, 4, 2, 4), true, true),
        Arguments.of(new KronShape(12, 24, 2, 1, 1), true, false),
        Arguments.of(new KronShape(6, 5, 3, 7, 2), false, true),
        Arguments.of(new KronShape(1, 9, 8, 3, 1), true, true),
        Arguments.of(new KronShape(5, 1, 3, 4, 3), true, true));
  }

  @ParameterizedTest
  @MethodSource("linearCases")
  void kroneckerLinear_matchesDenseProductInOnnxRuntime(KronShape shape, boolean rows, boolean cols) {
    SplittableRandom random = new SplittableRandom(shape.hashCode());
    KroneckerLinear w = new KroneckerLinear(NearestKroneckerTest.randomFactors(shape, 3),
        rows ? LinearAssignmentTest.randomPermutation(shape.in(), random) : null,
        cols ? LinearAssignmentTest.randomPermutation(shape.out(), random) : null);
    assertEquals(rows && !isTrivial(shape.in()), w.permutesInputs());
    assertDenseEquivalent(w, 2, 3);
  }

  @Test
  void kroneckerLinear_emitsNoDenseMatrix() {
    KronShape shape = new KronShape(48, 96, 2, 4, 4);
    KroneckerLinear w = new KroneckerLinear(NearestKroneckerTest.randomFactors(shape, 1), null, null);
    GraphBuilder g = new GraphBuilder("t");
    String x = g.input("x", DataType.FLOAT, "n", shape.in());
    w.emit(g, x, "layer");
    assertEquals(4 * shape.parameterCount(), g.initializers().stream()
        .filter(i -> i.type() == DataType.FLOAT).mapToLong(i -> i.payload().byteSize()).sum());
    assertEquals(2, g.nodes().stream().filter(n -> n.getOpType().equals("MatMul") || n.getOpType().equals("Gemm")).count());
  }

  static Stream<Arguments> embeddingCases() {
    return Stream.of(
        Arguments.of(new KronShape(37, 8, 1, 2, 1), false), // TQ's (vocab × d/2) ⊗ (1 × 2)
        Arguments.of(new KronShape(37, 8, 1, 2, 1), true),
        Arguments.of(new KronShape(20, 4, 2, 3, 2), true),
        Arguments.of(new KronShape(15, 6, 1, 4, 3), true));
  }

  @ParameterizedTest
  @MethodSource("embeddingCases")
  void kroneckerEmbedding_lookupAndTiedHeadMatchDenseTable(KronShape shape, boolean cols) {
    SplittableRandom random = new SplittableRandom(shape.hashCode() + 1);
    KroneckerEmbedding e = new KroneckerEmbedding(NearestKroneckerTest.randomFactors(shape, 4),
        cols ? LinearAssignmentTest.randomPermutation(shape.out(), random) : null);
    Tensor table = e.toDense();
    int vocab = shape.in();
    int d = shape.out();

    GraphBuilder g = new GraphBuilder("t");
    String ids = g.input("ids", DataType.INT64, "b", "s");
    String rows = e.emitLookup(g, ids, "tok_embed");
    g.output(rows, DataType.FLOAT, "b", "s", d);
    String x = g.input("x", DataType.FLOAT, "b", "s", d);
    String logits = e.tiedHead().emit(g, x, "head");
    g.output(logits, DataType.FLOAT, "b", "s", vocab);
    long factorBytes = g.initializers().stream().filter(i -> i.type() == DataType.FLOAT).mapToLong(i -> i.payload().byteSize()).sum();
    assertEquals(4 * shape.parameterCount(), factorBytes, "the head shares the lookup's factors");
    assertEquals(0, e.tiedHead().parameterCount());

    long[] idValues = new long[2 * 3];
    for (int i = 0; i < idValues.length; i++) {
      idValues[i] = random.nextInt(vocab);
    }
    idValues[0] = vocab - 1;
    float[] xs = NearestKroneckerTest.randomMatrix(6, d, 9);
    float[] gotRows = OrtGraphs.run(g, rows, new OrtGraphs.Feed("ids", idValues, 2, 3), new OrtGraphs.Feed("x", xs, 2, 3, d));
    for (int t = 0; t < idValues.length; t++) {
      for (int j = 0; j < d; j++) {
        assertEquals(table.get((int) idValues[t], j), gotRows[t * d + j], 1e-5, "lookup of token " + idValues[t]);
      }
    }
    float[] gotLogits = OrtGraphs.run(g, logits, new OrtGraphs.Feed("ids", idValues, 2, 3), new OrtGraphs.Feed("x", xs, 2, 3, d));
    float[] want = Matrices.multiplyTransposed(xs, 6, d, table.data(), vocab, Workers.single());
    assertClose(want, gotLogits);
  }

  @Test
  void columnGroups_concatenateFactoredParts() {
    KronShape q = new KronShape(8, 16, 2, 1, 1);
    KronShape kv = new KronShape(8, 8, 2, 1, 1);
    SplittableRandom random = new SplittableRandom(5);
    List<LinearWeight> parts = List.of(
        new KroneckerLinear(NearestKroneckerTest.randomFactors(q, 1), LinearAssignmentTest.randomPermutation(16, random), null),
        new KroneckerLinear(NearestKroneckerTest.randomFactors(kv, 2), null, null),
        new KroneckerLinear(NearestKroneckerTest.randomFactors(kv, 3), LinearAssignmentTest.randomPermutation(16, random), null));
    assertDenseEquivalent(new ColumnGroupsLinear(parts, List.of("q", "k", "v")), 1, 4);
  }

  static void assertDenseEquivalent(LinearWeight w, int batch, int seq) {
    GraphBuilder g = new GraphBuilder("t");
    String x = g.input("x", DataType.FLOAT, "b", "s", w.inFeatures());
    String y = w.emit(g, x, "layer");
    g.output(y, DataType.FLOAT, "b", "s", w.outFeatures());
    assertFalse(g.initializers().stream().anyMatch(i -> i.dims().length == 2
        && i.dims()[0] == w.inFeatures() && i.dims()[1] == w.outFeatures() && w.inFeatures() > 1 && w.outFeatures() > 1),
        "no dense matrix among the initializers");
    int rows = batch * seq;
    float[] xs = NearestKroneckerTest.randomMatrix(rows, w.inFeatures(), 17);
    float[] got = OrtGraphs.run(g, y, new OrtGraphs.Feed("x", xs, batch, seq, w.inFeatures()));
    float[] want = Matrices.multiply(xs, rows, w.inFeatures(), w.toDense().data(), w.outFeatures(), Workers.single());
    assertClose(want, got);
  }

  static void assertClose(float[] want, float[] got) {
    assertEquals(want.length, got.length);
    double scale = Math.sqrt(Matrices.squaredNorm(want) / want.length) + 1e-6;
    for (int i = 0; i < want.length; i++) {
      assertTrue(Math.abs(want[i] - got[i]) <= 1e-4 * scale + 1e-5, "element " + i + ": want " + want[i] + ", got " + got[i]);
    }
  }

  private static boolean isTrivial(int n) {
    return n <= 1;
  }
}
