package dev.edgelm.engine.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class BpeMergesTest {
  private static int[] apply(BpeMerges merges, int... ids) {
    int[] work = ids.clone();
    return Arrays.copyOf(work, merges.apply(work, work.length));
  }

  @Test
  void apply_equalRanks_mergesLeftmostFirst() {
    // a=0, aa=1: "aaa" -> [aa, a], not [a, aa].
    BpeMerges merges = new BpeMerges.Builder(1).add(0, 0, 0, 1).build();

    assertArrayEquals(new int[] {1, 0}, apply(merges, 0, 0, 0));
    assertArrayEquals(new int[] {1, 1}, apply(merges, 0, 0, 0, 0));
  }

  @Test
  void apply_betterRankOnTheRight_winsOverLeftPair() {
    // a=0 b=1 c=2 ab=3 bc=4; (b,c) ranks before (a,b).
    BpeMerges merges = new BpeMerges.Builder(2).add(0, 1, 1, 3).add(1, 2, 0, 4).build();

    assertArrayEquals(new int[] {0, 4}, apply(merges, 0, 1, 2));
  }

  @Test
  void apply_duplicatePair_keepsFirstRank() {
    BpeMerges merges = new BpeMerges.Builder(2).add(0, 1, 5, 7).add(0, 1, 1, 8).build();

    assertArrayEquals(new int[] {7}, apply(merges, 0, 1));
  }

  @Test
  void apply_randomTables_matchQuadraticRescan() {
    Random random = new Random(7);
    for (int round = 0; round < 500; round++) {
      int alphabet = 2 + random.nextInt(4);
      int symbols = alphabet + 12;
      BpeMerges.Builder builder = new BpeMerges.Builder(32);
      int[][] rank = new int[symbols][symbols];
      int[][] merged = new int[symbols][symbols];
      for (int[] row : rank) {
        Arrays.fill(row, -1);
      }
      for (int m = 0; m < 20; m++) {
        int left = random.nextInt(symbols);
        int right = random.nextInt(symbols);
        if (rank[left][right] < 0) {
          rank[left][right] = random.nextInt(6); // few distinct ranks, so ties are common
          merged[left][right] = random.nextInt(symbols);
          builder.add(left, right, rank[left][right], merged[left][right]);
        }
      }
      BpeMerges merges = builder.build();
      int[] input = random.ints(1 + random.nextInt(30), 0, alphabet).toArray();

      assertArrayEquals(rescan(input, rank, merged), apply(merges, input), Arrays.toString(input));
    }
  }

  /** llama2.c's algorithm: scan all pairs, merge the best (leftmost on ties), repeat. */
  private static int[] rescan(int[] input, int[][] rank, int[][] merged) {
    int[] ids = input.clone();
    int n = ids.length;
    while (true) {
      int best = -1;
      for (int i = 0; i + 1 < n; i++) {
        int r = rank[ids[i]][ids[i + 1]];
        if (r >= 0 && (best < 0 || r < rank[ids[best]][ids[best + 1]])) {
          best = i;
        }
      }
      if (best < 0) {
        return Arrays.copyOf(ids, n);
      }
      ids[best] = merged[ids[best]][ids[best + 1]];
      System.arraycopy(ids, best + 2, ids, best + 1, n - best - 2);
      n--;
    }
  }
}
