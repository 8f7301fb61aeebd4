package dev.edgelm.engine.bench;

import dev.edgelm.engine.Sampler;
import dev.edgelm.engine.SamplingOptions;
import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * What choosing one token costs on a GPT-2-sized vocabulary, with and without log-probabilities, greedy and at
 * temperature 0.8 / top-p 0.95: interleaved rounds, median per token. A program, not a test:
 *
 * <pre>
 * java -cp engine/target/test-classes:engine/target/classes:proto/target/classes:$(cat engine/target/cp.txt) \
 *     dev.edgelm.engine.bench.SamplerBench [vocab=50257] [rounds=7] [tokens=2000]
 * </pre>
 */
public final class SamplerBench {
  private SamplerBench() {}

  public static void main(String[] args) {
    int vocab = args.length > 0 ? Integer.parseInt(args[0]) : 50257;
    int rounds = args.length > 1 ? Integer.parseInt(args[1]) : 7;
    int tokens = args.length > 2 ? Integer.parseInt(args[2]) : 2000;
    SplittableRandom r = new SplittableRandom(1);
    float[][] rows = new float[16][vocab];
    for (float[] row : rows) {
      for (int i = 0; i < vocab; i++) {
        row[i] = (float) (r.nextGaussian() * 3);
      }
    }
    SamplingOptions greedy = SamplingOptions.DEFAULTS;
    SamplingOptions sampled = SamplingOptions.DEFAULTS.withTemperature(0.8f).withTopP(0.95f).withSeed(5);
    SamplingOptions[] cases = {greedy, greedy.withLogprobs(false), sampled, sampled.withLogprobs(false)};
    String[] names = {"greedy, logprobs", "greedy, none", "t=0.8 top-p, logprobs", "t=0.8 top-p, none"};
    double[][] us = new double[cases.length][rounds];
    long sink = 0;
    for (int round = -2; round < rounds; round++) { // two warm-up rounds
      for (int c = 0; c < cases.length; c++) {
        Sampler s = new Sampler(cases[c]);
        long t0 = System.nanoTime();
        for (int i = 0; i < tokens; i++) {
          sink += s.sample(rows[i & 15]).id();
        }
        if (round >= 0) {
          us[c][round] = (System.nanoTime() - t0) / 1e3 / tokens;
        }
      }
    }
    for (int c = 0; c < cases.length; c++) {
      double[] v = us[c].clone();
      Arrays.sort(v);
      System.out.printf(Locale.ROOT, "%-24s median %7.1f us per token (rounds %.1f..%.1f)%n", names[c], v[v.length / 2], v[0], v[v.length - 1]);
    }
    System.out.println("(checksum " + sink + ")");
  }
}
