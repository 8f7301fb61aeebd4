package dev.edgelm.compressor.kron;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.GraphBuilder;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import dev.edgelm.compressor.packaging.PackageWriter;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;

/**
 * Times single layers of GPT-2 small's shapes in ONNX Runtime (one intra-op thread), dense against
 * the tq-gpt2 factored form, for one token (decode) and for 128 tokens (prefill), and prints them
 * beside the cost formula's byte and multiply-add ratios. Dense and factored runs are interleaved
 * so a busy machine slows both alike. Random factors: speed does not depend on the values.
 *
 * <p>Run: {@code java -cp <compressor test classpath> dev.edgelm.compressor.kron.KronLayerBench [rounds]}.
 */
public final class KronLayerBench {
  private KronLayerBench() {}

  private record Case(String name, LinearWeight dense, LinearWeight factored, long denseBytes, long factoredBytes,
      long denseMacs, long factoredMacs) {}

  public static void main(String[] args) throws Exception {
    int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
    List<Case> cases = new ArrayList<>();
    cases.add(linear("c_fc 768×3072", new KronShape(384, 768, 2, 4, 4)));
    cases.add(linear("c_proj 3072×768", new KronShape(768, 384, 4, 2, 4)));
    cases.add(linear("q 768×768", new KronShape(384, 768, 2, 1, 1)));
    KronShape emb = new KronShape(50257, 384, 1, 2, 1);
    KroneckerEmbedding e = new KroneckerEmbedding(random(emb, 1), null);
    DenseEmbedding dense = new DenseEmbedding(e.toDense());
    cases.add(new Case("tied head 768×50257", dense.tiedHead(), e.tiedHead(), 4L * emb.denseParameterCount(),
        e.storedBytes(), emb.denseParameterCount(), e.tiedHeadMultiplyAdds()));

    OrtEnvironment env = OrtEnvironment.getEnvironment();
    Path dir = Files.createTempDirectory("kron-layer-bench");
    try {
      System.out.println("| layer | tokens | dense µs | factored µs | time ratio | bytes ratio | multiply-add ratio |");
      System.out.println("|---|---:|---:|---:|---:|---:|---:|");
      for (Case c : cases) {
        try (OrtSession d = session(env, dir.resolve(c.name().hashCode() + "-d.onnx"), c.dense());
            OrtSession k = session(env, dir.resolve(c.name().hashCode() + "-k.onnx"), c.factored())) {
          for (int tokens : new int[] {1, 128}) {
            int iterations = tokens == 1 ? 200 : 10;
            double[] td = new double[rounds];
            double[] tk = new double[rounds];
            float[] x = new float[tokens * c.dense().inFeatures()];
            new SplittableRandom(3).doubles(x.length).forEach(new java.util.function.DoubleConsumer() {
              int i;

              @Override
              public void accept(double v) {
                x[i++] = (float) v;
              }
            });
            time(env, d, x, tokens, iterations); // warm-up
            time(env, k, x, tokens, iterations);
            for (int r = 0; r < rounds; r++) {
              td[r] = time(env, d, x, tokens, iterations);
              tk[r] = time(env, k, x, tokens, iterations);
            }
            double md = median(td);
            double mk = median(tk);
            System.out.printf(Locale.ROOT, "| %s | %d | %.1f | %.1f | %.3f | %.3f | %.3f |%n", c.name(), tokens, md, mk, mk / md,
                (double) c.factoredBytes() / c.denseBytes(), (double) c.factoredMacs() / c.denseMacs());
          }
        }
      }
    } finally {
      PackageWriter.deleteRecursively(dir);
    }
  }

  private static Case linear(String name, KronShape s) {
    KroneckerLinear k = new KroneckerLinear(random(s, 2), null, null);
    return new Case(name, new DenseLinear(k.toDense()), k, 4L * s.denseParameterCount(), k.storedBytes(),
        s.denseParameterCount(), s.multiplyAdds());
  }

  private static KronFactors random(KronShape s, long seed) {
    SplittableRandom r = new SplittableRandom(seed);
    float[] a = new float[s.rank() * s.m1() * s.n1()];
    float[] b = new float[s.rank() * s.m2() * s.n2()];
    for (int i = 0; i < a.length; i++) {
      a[i] = (float) r.nextGaussian();
    }
    for (int i = 0; i < b.length; i++) {
      b[i] = (float) r.nextGaussian();
    }
    return new KronFactors(s, a, b);
  }

  private static OrtSession session(OrtEnvironment env, Path file, LinearWeight w) throws Exception {
    GraphBuilder g = new GraphBuilder("bench");
    String x = g.input("x", DataType.FLOAT, 1, "s", w.inFeatures());
    String y = w.emit(g, x, "layer");
    g.output(y, DataType.FLOAT, 1, "s", w.outFeatures());
    Files.createDirectories(file.getParent().resolve(file.getFileName() + ".d"));
    Path model = file.getParent().resolve(file.getFileName() + ".d").resolve("model.onnx");
    OnnxModelWriter.write(g, model, OnnxModelWriter.Options.defaults("bench"));
    OrtSession.SessionOptions so = new OrtSession.SessionOptions();
    so.setIntraOpNumThreads(1);
    so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
    return env.createSession(model.toString(), so);
  }

  /** Mean microseconds per run over {@code iterations} runs. */
  private static double time(OrtEnvironment env, OrtSession s, float[] x, int tokens, int iterations) throws Exception {
    long[] shape = {1, tokens, x.length / tokens};
    try (OnnxTensor t = OnnxTensor.createTensor(env, FloatBuffer.wrap(x), shape)) {
      long start = System.nanoTime();
      for (int i = 0; i < iterations; i++) {
        try (OrtSession.Result r = s.run(Map.of("x", t))) {
          r.get(0);
        }
      }
      return (System.nanoTime() - start) / 1e3 / iterations;
    }
  }

  private static double median(double[] v) {
    double[] c = v.clone();
    Arrays.sort(c);
    return c[c.length / 2];
  }
}
