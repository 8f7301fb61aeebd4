package dev.edgelm.engine;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Comparator;
import java.util.SplittableRandom;
import java.util.TreeSet;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

class NucleusTest {
  @Test
  void cut_keepsTheSameTokensAsASortedWalk() {
    SplittableRandom r = new SplittableRandom(42);
    Nucleus nucleus = new Nucleus();
    for (int round = 0; round < 300; round++) {
      int v = 1 + r.nextInt(3000);
      double[] w = new double[v];
      int levels = 1 + r.nextInt(round % 3 == 0 ? 4 : 100_000); // some rounds are mostly ties
      for (int i = 0; i < v; i++) {
        w[i] = Math.exp(-3.0 * r.nextInt(levels) / levels * r.nextDouble() * 4);
      }
      double total = Arrays.stream(w).sum();
      double p = r.nextDouble();
      assertEquals(sortedNucleus(w, total * p), kept(w, nucleus.cut(w, v, total * p)), "round " + round + ", p " + p);
    }
  }

  @Test
  void draw_followsTheRenormalisedNucleus() {
    double[] w = {4, 1, 3, 2, 0.5}; // total 10.5; p = 0.6 needs 6.3: tokens 0 and 2 give 7
    Nucleus nucleus = new Nucleus();
    SplittableRandom random = new SplittableRandom(9);
    int[] counts = new int[w.length];
    int n = 20_000;
    for (int i = 0; i < n; i++) {
      counts[nucleus.draw(w, w.length, 10.5, 0.6, random)]++;
    }
    assertEquals(0, counts[1] + counts[3] + counts[4], Arrays.toString(counts));
    assertEquals(4.0 / 7, counts[0] / (double) n, 0.02);
  }

  @Test
  void draw_onEqualWeights_keepsTheLowerIds() {
    double[] flat = new double[1000];
    Arrays.fill(flat, 1);
    Nucleus nucleus = new Nucleus();
    SplittableRandom random = new SplittableRandom(3);
    TreeSet<Integer> ids = new TreeSet<>();
    for (int i = 0; i < 5000; i++) {
      ids.add(nucleus.draw(flat, flat.length, 1000, 0.5, random));
    }
    assertTrue(ids.last() < 500 && ids.last() >= 450, "ids " + ids.first() + ".." + ids.last());
  }

  /** The smallest prefix of the weights sorted largest first (lower id first among equals) reaching need. */
  private static TreeSet<Integer> sortedNucleus(double[] w, double need) {
    Integer[] order = IntStream.range(0, w.length).boxed().toArray(Integer[]::new);
    Arrays.sort(order, Comparator.<Integer>comparingDouble(i -> -w[i]).thenComparingInt(i -> i));
    TreeSet<Integer> out = new TreeSet<>();
    double sum = 0;
    for (int i : order) {
      out.add(i);
      sum += w[i];
      if (sum >= need) {
        break;
      }
    }
    return out;
  }

  private static TreeSet<Integer> kept(double[] w, Nucleus.Cut cut) {
    TreeSet<Integer> out = new TreeSet<>();
    int ties = cut.ties();
    for (int i = 0; i < w.length; i++) {
      if (w[i] > cut.tau() || (w[i] == cut.tau() && ties-- > 0)) {
        out.add(i);
      }
    }
    return out;
  }
}
