package dev.edgelm.compressor.kron;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class PermutationSearchTest {
  @Test
  void permutationSearch_lowersWeightError() {
    // A Kronecker product whose rows and columns were shuffled: no permutation-free fit is close.
    KronShape shape = new KronShape(24, 16, 2, 4, 1);
    SplittableRandom random = new SplittableRandom(11);
    int[] rowPos = LinearAssignmentTest.randomPermutation(shape.in(), random);
    int[] colPos = LinearAssignmentTest.randomPermutation(shape.out(), random);
    float[] k = NearestKroneckerTest.randomFactors(shape, 2).dense();
    float[] w = Matrices.gather(k, shape.in(), shape.out(), rowPos, colPos);
    float[] noise = NearestKroneckerTest.randomMatrix(shape.in(), shape.out(), 4);
    for (int i = 0; i < w.length; i++) {
      w[i] += 0.05f * noise[i];
    }

    PermutationSearch.Result r = PermutationSearch.search(w, shape, 8, 4096, Workers.single());

    assertTrue(r.errorWith() < 0.75 * r.errorWithout(), "with " + r.errorWith() + ", without " + r.errorWithout());
    float[] approx = Matrices.gather(r.factors().dense(), shape.in(), shape.out(), r.rowPos(), r.colPos());
    assertEquals(r.errorWith(), Math.sqrt(Matrices.squaredDistance(w, approx)), 1e-3 * r.errorWith());
  }

  @Test
  void permutationSearch_neverRaisesTheErrorOfRandomMatrices() {
    KronShape shape = new KronShape(16, 32, 4, 2, 2);
    float[] w = NearestKroneckerTest.randomMatrix(shape.in(), shape.out(), 8);
    PermutationSearch.Result r = PermutationSearch.search(w, shape, 3, 4096, Workers.single());
    assertTrue(r.errorWith() <= r.errorWithout());
  }

  @Test
  void permutationSearch_skipsSidesWhereOrderCannotMatter() {
    // m2 = 1: rows independent; n2 = 1: columns independent.
    float[] w = NearestKroneckerTest.randomMatrix(16, 32, 1);
    PermutationSearch.Result rows = PermutationSearch.search(w, new KronShape(16, 16, 1, 2, 1), 3, 4096, Workers.single());
    assertEquals(null, rows.rowPos());
    PermutationSearch.Result cols = PermutationSearch.search(w, new KronShape(8, 32, 2, 1, 1), 3, 4096, Workers.single());
    assertEquals(null, cols.colPos());
  }
}
