package dev.edgelm.compressor.quant;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtSession;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.GraphBuilder;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The contrib operators and lookups the quantized forms emit, run by ONNX Runtime and checked
 * against a reference matmul of the dequantized weights ({@link QuantizedMatrix#toDense()}): this is
 * where the layouts (nibble order, block padding, zero-point packing, int8 orientation) are pinned.
 */
class QuantizedOpsTest {
  private static final ExecutorService POOL = Executors.newFixedThreadPool(2);
  private static final OrtEnvironment ENV = OrtEnvironment.getEnvironment();

  @TempDir Path tmp;

  @AfterAll
  static void shutdown() {
    POOL.shutdownNow();
  }

  private static Tensor random(int rows, int cols, long seed) {
    Random r = new Random(seed);
    float[] w = new float[rows * cols];
    for (int i = 0; i < w.length; i++) {
      w[i] = (float) (r.nextGaussian() * 0.1 + (i % 7 == 0 ? 0.05 : 0));
    }
    return Tensor.of(w, rows, cols);
  }

  private static QuantizedMatrix quantize(Tensor w, int bits, int group) {
    QuantGrid grid = bits == 8 ? new QuantGrid(8, w.rows(), true) : new QuantGrid(4, group, false);
    return new MatrixQuantizer(grid, POOL).rtn(w, 1f);
  }

  /** x [rows, K] · dense [K, N] in double. */
  private static float[] reference(float[] x, int rows, Tensor dense) {
    int k = dense.rows();
    int n = dense.cols();
    float[] y = new float[rows * n];
    for (int r = 0; r < rows; r++) {
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int i = 0; i < k; i++) {
          s += (double) x[r * k + i] * dense.data()[i * n + j];
        }
        y[r * n + j] = (float) s;
      }
    }
    return y;
  }

  private float[] runMatMul(GraphBuilder g, float[] x, int rows, int k) throws Exception {
    Path model = tmp.resolve("m" + System.nanoTime() + ".onnx");
    OnnxModelWriter.write(g, model, OnnxModelWriter.Options.defaults("test"));
    try (OrtSession s = ENV.createSession(model.toString(), new OrtSession.SessionOptions());
        OnnxTensor in = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(x), new long[] {1, rows, k});
        OrtSession.Result out = s.run(Map.of("x", in))) {
      FloatBuffer b = ((OnnxTensor) out.get(0)).getFloatBuffer();
      float[] y = new float[b.remaining()];
      b.get(y);
      return y;
    }
  }

  private static float[] input(int rows, int k, long seed) {
    Random r = new Random(seed);
    float[] x = new float[rows * k];
    for (int i = 0; i < x.length; i++) {
      x[i] = (float) r.nextGaussian();
    }
    return x;
  }

  private static void assertClose(float[] want, float[] got, double relative) {
    assertEquals(want.length, got.length);
    double scale = 0;
    double worst = 0;
    for (int i = 0; i < want.length; i++) {
      scale = Math.max(scale, Math.abs(want[i]));
      worst = Math.max(worst, Math.abs(want[i] - got[i]));
    }
    assertTrue(worst <= relative * scale, "max error " + worst + " against max magnitude " + scale);
  }

  @ParameterizedTest(name = "int4 K={0} N={1} block {2} accuracy level {3}")
  @CsvSource({"64, 48, 32, 0", "172, 40, 32, 0", "256, 33, 128, 0", "96, 20, 64, 4", "172, 64, 32, 4"})
  void int4_matMulNBits_matchesDequantizedMatMul(int k, int n, int block, int accuracyLevel) throws Exception {
    QuantizedMatrix q = quantize(random(k, n, k * 31L + n), 4, block);
    GraphBuilder g = new GraphBuilder("t");
    String x = g.input("x", DataType.FLOAT, 1, 3, k);
    g.output(new QuantizedLinear(q, accuracyLevel).emit(g, x, "lin"), DataType.FLOAT, 1, 3, n);
    float[] in = input(3, k, 1);
    // Level 0 computes in fp32; level 4 quantizes the activations to int8 blockwise.
    assertClose(reference(in, 3, q.toDense()), runMatMul(g, in, 3, k), accuracyLevel == 0 ? 1e-5 : 2e-2);
  }

  @ParameterizedTest(name = "int8 K={0} N={1}")
  @CsvSource({"64, 48", "172, 40"})
  void int8_dynamicQuantizeMatMul_matchesDequantizedMatMul(int k, int n) throws Exception {
    QuantizedMatrix q = quantize(random(k, n, 11), 8, 0);
    GraphBuilder g = new GraphBuilder("t");
    String x = g.input("x", DataType.FLOAT, 1, 3, k);
    g.output(new QuantizedLinear(q, 4).emit(g, x, "lin"), DataType.FLOAT, 1, 3, n);
    float[] in = input(3, k, 2);
    // Activations are quantized to 8 bits per call: about 1% of the largest output.
    assertClose(reference(in, 3, q.toDense()), runMatMul(g, in, 3, k), 2e-2);
  }

  @ParameterizedTest(name = "{0}-bit table, dim {1}, block {2}")
  @CsvSource({"4, 64, 32", "4, 80, 32", "4, 96, 32", "8, 64, 0", "8, 40, 0"})
  void embedding_lookupAndTiedHead_shareOneTable(int bits, int dim, int block) throws Exception {
    int vocab = 37;
    Tensor table = random(vocab, dim, 99);
    QuantizedMatrix q = quantize(table.transpose(), bits, block);
    QuantizedEmbedding e = new QuantizedEmbedding(q, 0);
    GraphBuilder g = new GraphBuilder("t");
    String ids = g.input("ids", DataType.INT64, 2, 3);
    String x = g.input("x", DataType.FLOAT, 1, 2, dim);
    g.output(e.emitLookup(g, ids, "tok_embed"), DataType.FLOAT, 2, 3, dim);
    g.output(e.tiedHead().emit(g, x, "head"), DataType.FLOAT, 1, 2, vocab);
    Path model = tmp.resolve("emb.onnx");
    OnnxModelWriter.write(g, model, OnnxModelWriter.Options.defaults("test"));
    assertEquals(bits == 4 ? 3 : 2, g.initializers().stream().filter(i -> i.name().startsWith("tok_embed.")).count(),
        "one table for both: codes and scales (and zero points)");
    assertEquals(0, g.initializers().stream().filter(i -> i.name().startsWith("head")).count());

    long[] idValues = {0, 36, 5, 5, 17, 1};
    float[] xs = input(2, dim, 3);
    Tensor dense = e.toDense();
    try (OrtSession s = ENV.createSession(model.toString(), new OrtSession.SessionOptions());
        OnnxTensor idT = OnnxTensor.createTensor(ENV, LongBuffer.wrap(idValues), new long[] {2, 3});
        OnnxTensor xT = OnnxTensor.createTensor(ENV, FloatBuffer.wrap(xs), new long[] {1, 2, dim});
        OrtSession.Result out = s.run(Map.of("ids", idT, "x", xT))) {
      FloatBuffer rows = ((OnnxTensor) out.get(0)).getFloatBuffer();
      for (int t = 0; t < idValues.length; t++) {
        for (int d = 0; d < dim; d++) {
          assertEquals(dense.get((int) idValues[t], d), rows.get(t * dim + d), 1e-6f, "row " + idValues[t] + " dim " + d);
        }
      }
      FloatBuffer logits = ((OnnxTensor) out.get(1)).getFloatBuffer();
      float[] got = new float[logits.remaining()];
      logits.get(got);
      assertClose(reference(xs, 2, dense.transpose()), got, bits == 4 ? 1e-5 : 2e-2);
    }
  }
}
