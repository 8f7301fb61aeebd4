package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.ActivationStats;
import dev.edgelm.compressor.calib.Calibration;
import dev.edgelm.compressor.calib.Calibrator;
import dev.edgelm.compressor.calib.Statistic;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.DenseLinear;
import dev.edgelm.compressor.ir.EmbeddingTable;
import dev.edgelm.compressor.ir.FactoredEmbedding;
import dev.edgelm.compressor.ir.FactoredWeight;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.MatrixEncoder;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.proto.v1.CalibrationSource;
import dev.edgelm.proto.v1.MatrixError;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.QuantizationParams;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.StepErrors;
import java.util.EnumSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Turns an fp32 model into an int8 or int4 variant.
 *
 * <p>Every linear layer and the output head are quantized; the token embedding is stored once
 * (see {@link QuantizedEmbedding}). Norms, biases and learned positions stay fp32.
 *
 * <p>A table tied to the head serves two consumers with different error measures: the head wants
 * a small output error ‖X·(Eᵀ − Êᵀ)‖ on its inputs, the lookup a small error of each row itself
 * (a looked-up row has no other inputs to average its error against). Optimising the head alone
 * was measured to hurt: on gpt2-fixture, GPTQ or per-row clipping for the head's outputs made the
 * lookup worse by more than it made the head better. So calibrated algorithms quantize a tied table
 * for the sum of both errors, the row error weighted by {@value #TIED_TABLE_WEIGHT_ERROR} times the
 * mean diagonal of the head's XᵀX: for GPTQ that is a damping of {@value #TIED_TABLE_WEIGHT_ERROR};
 * for the clipping search a penalty on ‖w − ŵ‖², with one ratio for the whole table (per-row
 * ratios fit the head's objective along the dominant direction of its input, which does nothing
 * for the same rows when they are looked up). An untied table is only looked up and is rounded to
 * nearest.
 *
 * <ul>
 *   <li>int8: symmetric codes, one scale per output channel; at run time
 *       {@code DynamicQuantizeMatMul} quantizes the activations to uint8 per call.
 *   <li>int4: asymmetric 4-bit codes in blocks of {@code groupSize} inputs, one fp32 scale and one
 *       4-bit zero point per block, run by {@code MatMulNBits}. A layer whose width is not a
 *       multiple of the group size gets a zero-padded last block (MatMulNBits' layout has room for
 *       it: ceil(K / blockSize) blocks); a group wider than a layer is refused.
 * </ul>
 *
 * <p>Threading: {@link #quantize} runs on its own pool of {@code options.threads()} threads and is
 * safe to call concurrently.
 */
public final class Quantizer {
  /**
   * What happened to one layer.
   *
   * @param clip the clipping ratio of the weight range used (1 = none)
   * @param errorRatio for {@link Algorithm#SCALE}: sampled output error with the chosen clipping
   *     over the error without it (1 for the other algorithms)
   * @param weightError {@code ‖W − Ŵ‖/‖W‖}
   */
  public record LayerReport(String name, int in, int out, float clip, double errorRatio, double weightError) {}

  /**
   * A quantized model.
   *
   * @param method the descriptor's method: name and parameters, calibration included
   * @param preferredCpuFeatures CPU features that speed the variant up (its int8 dot products)
   */
  public record Result(ModelIr ir, Method method, Step step, List<String> preferredCpuFeatures, List<LayerReport> layers) {}

  /** Weight of a tied table's row (lookup) error against its head output error; see the class comment. */
  static final double TIED_TABLE_WEIGHT_ERROR = 3.0;

  /**
   * Factor matrices with fewer values stay fp32 in a chain: a Kronecker B factor is often a few
   * dozen values, whose bytes are nothing and whose quantized kernel call costs more than it saves.
   */
  static final int MIN_FACTOR_VALUES = 1024;

  /** CPU features with int8 dot-product instructions, which both int8 GEMMs and MatMulNBits' accuracy level 4 use. */
  static final List<String> INT8_DOT_PRODUCT_FEATURES = List.of("avx512_vnni", "avx_vnni", "dotprod");

  private Quantizer() {}

  /**
   * The {@code int8}/{@code int4} step of a chain ({@link dev.edgelm.compressor.Method.Quantization}):
   * calibrates {@code model} — the base, or the output of the steps before — on the context's text
   * when the algorithm needs it, and quantizes it.
   *
   * @throws UsageException for combinations that cannot work (calibration text missing, a group
   *     wider than a layer, a layer already quantized)
   */
  public static StepResult step(ModelIr model, QuantizationOptions options, StepContext context) {
    Algorithm algo = options.algorithm();
    if (algo.needsCalibration() && context.calibrationText() == null) {
      throw missingCalibration(algo);
    }
    checkShapes(model, options); // before calibration, which takes a while
    Calibration calibration = null;
    if (algo.needsCalibration()) {
      calibration = Calibrator.collect(model, context.calibrationText(),
          EnumSet.of(algo == Algorithm.GPTQ ? Statistic.GRAM : Statistic.SAMPLE), context.calibration(), context.progress());
    }
    Result result = quantize(model, options, calibration, context.progress());
    return new StepResult(result.ir(), result.step(), result.method(), result.preferredCpuFeatures(), "", List.of());
  }

  /**
   * Quantizes {@code base}.
   *
   * @param calibration activation statistics of {@code base}; required by {@link Algorithm#SCALE}
   *     (samples) and {@link Algorithm#GPTQ} (Gram matrices), ignored by {@link Algorithm#RTN}
   * @param progress receives one line per layer
   * @throws UsageException when the algorithm needs calibration that was not given, a layer is
   *     already compressed, or a group is wider than a layer
   */
  public static Result quantize(ModelIr base, QuantizationOptions options, Calibration calibration, Consumer<String> progress) {
    Algorithm algo = options.algorithm();
    if (algo.needsCalibration()) {
      if (calibration == null) {
        throw missingCalibration(algo);
      }
      Statistic needed = algo == Algorithm.GPTQ ? Statistic.GRAM : Statistic.SAMPLE;
      if (!calibration.has(needed)) {
        throw new IllegalArgumentException(algo.id() + " needs calibration " + needed + " statistics");
      }
    }
    checkShapes(base, options);
    ExecutorService pool = Executors.newFixedThreadPool(options.threads(), r -> {
      Thread t = new Thread(r, "edgelm-quantize");
      t.setDaemon(true);
      return t;
    });
    try {
      return new Run(options, calibration, pool, progress).quantize(base);
    } finally {
      pool.shutdownNow();
    }
  }

  /** The one-line error for an algorithm that needs calibration text and got none. */
  public static UsageException missingCalibration(Algorithm algo) {
    return new UsageException("--algo " + algo.id()
        + " needs calibration text; pass --calib FILE (text like what the model will see, not the evaluation text)");
  }

  private static void checkShapes(ModelIr base, QuantizationOptions options) {
    for (Map.Entry<String, Linear> e : base.linears().entrySet()) {
      LinearWeight w = e.getValue().weight();
      if (w instanceof DenseLinear) {
        checkWidth(e.getKey(), e.getValue().inFeatures(), options);
      } else if (!(w instanceof FactoredWeight)) {
        throw new UsageException("layer " + e.getKey() + " is already quantized; a chain has one quantization step");
      }
    }
    if (base.tokenEmbedding() instanceof DenseEmbedding) {
      checkWidth("the token embedding", base.config().hiddenSize(), options);
    } else if (!(base.tokenEmbedding() instanceof FactoredEmbedding)) {
      throw new UsageException("the token embedding is already quantized; a chain has one quantization step");
    }
  }

  private static void checkWidth(String layer, int in, QuantizationOptions options) {
    if (options.precision() == Precision.INT4 && options.groupSize() > in) {
      int fits = QuantizationOptions.GROUP_SIZES.stream().filter(g -> g <= in).reduce((a, b) -> b).orElse(0);
      throw new UsageException("int4 group size " + options.groupSize() + " is wider than " + layer + " (" + in + " inputs)"
          + (fits > 0 ? "; use --group-size " + fits + " or less" : "; this model is too narrow for int4 blocks"));
    }
  }

  /** One quantization: the pool, the options, the per-layer log. */
  private static final class Run {
    private final QuantizationOptions options;
    private final Calibration calibration;
    private final ExecutorService pool;
    private final Consumer<String> progress;
    private final List<LayerReport> layers = new ArrayList<>();
    private ActivationStats lastStats;
    private Hessian lastHessian;
    private double lastDamping;

    Run(QuantizationOptions options, Calibration calibration, ExecutorService pool, Consumer<String> progress) {
      this.options = options;
      this.calibration = calibration;
      this.pool = pool;
      this.progress = progress;
    }

    Result quantize(ModelIr base) {
      ModelIr out = base;
      FactorEncoder factors = new FactorEncoder();
      for (Map.Entry<String, Linear> e : base.linears().entrySet()) {
        Linear l = e.getValue();
        if (l.weight() instanceof FactoredWeight f) {
          out = out.withLinear(e.getKey(), l.withWeight(f.withMatrices(e.getKey(), factors)));
          continue;
        }
        QuantizedMatrix q = matrix(e.getKey(), l.weight().toDense(), options.algorithm(), 0, options.clipScope());
        out = out.withLinear(e.getKey(), l.withWeight(new QuantizedLinear(q, options.accuracyLevel())));
      }
      boolean tied = base.head() == null;
      if (base.tokenEmbedding() instanceof FactoredEmbedding f) {
        out = out.withTokenEmbedding(f.withMatrices(factors));
      } else {
        Tensor table = base.tokenEmbedding().toDense();
        QuantizedMatrix q = tied
            ? matrix(ModelIr.HEAD, table.transpose(), options.algorithm(), TIED_TABLE_WEIGHT_ERROR, ClipScope.MODULE)
            : matrix("tok_embed", table.transpose(), Algorithm.RTN, 0, ClipScope.MODULE);
        out = out.withTokenEmbedding(new QuantizedEmbedding(q, options.accuracyLevel()));
      }
      if (factors.kept > 0) {
        progress.accept(String.format(Locale.ROOT, "%d factor matrices kept fp32 (%,d values in all): too small for %s to pay",
            factors.kept, factors.keptValues, options.precision().id()));
      }
      return new Result(out, method(tied), step(), Quantizer.INT8_DOT_PRODUCT_FEATURES, List.copyOf(layers));
    }

    /**
     * Quantizes the matrices inside factored forms (Kronecker factors), round to nearest: their
     * inputs are values inside the factored product, which calibration does not capture. Factors
     * too small to gain anything stay fp32 (see {@link #MIN_FACTOR_VALUES}).
     */
    private final class FactorEncoder implements MatrixEncoder {
      int kept;
      long keptValues;

      @Override
      public LinearWeight matrix(String name, Tensor w) {
        if (!worthQuantizing(w.rows(), w.size())) {
          kept++;
          keptValues += w.size();
          return null;
        }
        return new QuantizedLinear(Run.this.matrix(name, w, Algorithm.RTN, 0, ClipScope.MODULE), options.accuracyLevel());
      }

      @Override
      public EmbeddingTable table(String name, Tensor t) {
        if (!worthQuantizing(t.cols(), t.size())) {
          kept++;
          keptValues += t.size();
          return null;
        }
        return new QuantizedEmbedding(Run.this.matrix(name, t.transpose(), Algorithm.RTN, 0, ClipScope.MODULE),
            options.accuracyLevel());
      }

      /** @param k the inputs a product with the matrix sums over */
      private boolean worthQuantizing(int k, long values) {
        return values >= MIN_FACTOR_VALUES && (options.precision() != Precision.INT4 || k >= options.groupSize());
      }
    }

    /**
     * @param weightError weight of the row error ‖w_n − ŵ_n‖² against the output error, relative to
     *     the mean diagonal of the input's XᵀX (0: output error alone)
     */
    private QuantizedMatrix matrix(String name, Tensor w, Algorithm algo, double weightError, ClipScope scope) {
      long start = System.nanoTime();
      int k = w.rows();
      QuantGrid grid = options.precision() == Precision.INT8
          ? new QuantGrid(8, k, true)
          : new QuantGrid(4, options.groupSize(), false);
      MatrixQuantizer mq = new MatrixQuantizer(grid, pool);
      QuantizedMatrix q;
      float clip = 1f;
      double errorRatio = 1;
      switch (algo) {
        case RTN -> q = mq.rtn(w, 1f);
        case SCALE -> {
          ActivationStats s = calibration.of(name);
          MatrixQuantizer.Clip c = mq.searchClip(w, s.sample(), s.sampleRows(), scope,
              weightError * meanSquare(s.sample(), s.sampleRows(), k));
          clip = c.mean();
          errorRatio = c.unclippedError() > 0 ? c.error() / c.unclippedError() : 1;
          q = mq.rtn(w, c.ratios());
        }
        case GPTQ -> q = mq.gptq(w, hessian(calibration.of(name), Math.max(options.damping(), weightError)));
        default -> throw new IllegalStateException(algo.toString());
      }
      layers.add(new LayerReport(name, k, w.cols(), clip, errorRatio, relativeError(w, q)));
      String padded = options.precision() == Precision.INT4 && k % grid.blockSize() != 0
          ? String.format(Locale.ROOT, ", last block zero-padded (%d inputs)", k) : "";
      progress.accept(String.format(Locale.ROOT, "%s %s %dx%d %s%s in %.1f s", options.precision().id(), name, k, w.cols(),
          algo.id() + (algo == Algorithm.SCALE ? String.format(Locale.ROOT, " clip %.3f (output error x%.3f)", clip, errorRatio) : ""),
          padded, (System.nanoTime() - start) / 1e9));
      return q;
    }

    /** {@code ‖W − Ŵ‖/‖W‖}, element by element (no dequantized copy of a large table). */
    private static double relativeError(Tensor w, QuantizedMatrix q) {
      float[] d = w.data();
      int n = w.cols();
      double err = 0;
      double norm = 0;
      for (int k = 0; k < w.rows(); k++) {
        for (int j = 0; j < n; j++) {
          double v = d[k * n + j];
          double e = v - q.value(k, j);
          err += e * e;
          norm += v * v;
        }
      }
      return norm == 0 ? 0 : Math.sqrt(err / norm);
    }

    /** The descriptor's record of the step: typed parameters, calibration, per-matrix weight errors. */
    private Step step() {
      QuantizationParams.Builder p = QuantizationParams.newBuilder()
          .setBits(options.precision() == Precision.INT4 ? 4 : 8)
          .setAlgo(options.algorithm().id());
      if (options.precision() == Precision.INT4) {
        p.setGroupSize(options.groupSize()).setAccuracyLevel(options.accuracyLevel());
      }
      if (options.algorithm() == Algorithm.GPTQ) {
        p.setDamping(options.damping()).setActOrder(options.actOrder());
      }
      Step.Builder step = Step.newBuilder().setName(options.precision().id());
      if (options.algorithm().needsCalibration()) {
        if (options.algorithm() == Algorithm.SCALE) {
          p.setClipScope(options.clipScope().name().toLowerCase(Locale.ROOT))
              .setCalibrationSampleRows(calibration.of(ModelIr.HEAD).sampleRows());
        }
        step.setCalibration(CalibrationSource.newBuilder().setDigest(calibration.text().digest())
            .setTokens(calibration.text().tokens()).setDescription(calibration.text().describe()));
      }
      StepErrors.Builder errors = StepErrors.newBuilder();
      double sum = 0;
      double max = 0;
      for (LayerReport l : layers) {
        errors.addMatrices(MatrixError.newBuilder().setName(l.name()).setWeightError(l.weightError()));
        sum += l.weightError();
        max = Math.max(max, l.weightError());
      }
      if (!layers.isEmpty()) {
        errors.setMeanWeightError(sum / layers.size()).setMaxWeightError(max);
      }
      return step.setQuantization(p).setErrors(errors).build();
    }

    /** Layers reading the same activation (e.g. a SwiGLU gate and up) share one Hessian. */
    private Hessian hessian(ActivationStats s, double damping) {
      if (s != lastStats || damping != lastDamping) {
        lastHessian = Hessian.of(s.gram(), s.width(), damping, options.actOrder());
        lastStats = s;
        lastDamping = damping;
      }
      return lastHessian;
    }

    /** Σ x² / K over sampled rows: the mean diagonal of XᵀX on the sample. */
    private static double meanSquare(float[] x, int rows, int k) {
      double s = 0;
      for (int i = 0; i < rows * k; i++) {
        s += (double) x[i] * x[i];
      }
      return s / k;
    }

    private Method method(boolean tied) {
      Method.Builder m = Method.newBuilder().setName(options.precision().id());
      Algorithm algo = options.algorithm();
      m.putParams("algo", algo.id());
      if (options.precision() == Precision.INT4) {
        m.putParams("group_size", Integer.toString(options.groupSize()));
        m.putParams("accuracy_level", Integer.toString(options.accuracyLevel()));
        m.putParams("zero_point", "per-block 4-bit");
      } else {
        m.putParams("weights", "symmetric per output channel");
        m.putParams("activations", "dynamic uint8 per tensor");
      }
      m.putParams("embedding", options.precision().id() + (tied ? ", one copy shared by the lookup and the tied head" : ", round to nearest"));
      if (algo == Algorithm.GPTQ) {
        m.putParams("damping", Double.toString(options.damping()));
        m.putParams("act_order", Boolean.toString(options.actOrder()));
      }
      if (algo.needsCalibration()) {
        m.putParams("calibration_digest", calibration.text().digest());
        m.putParams("calibration_tokens", Long.toString(calibration.text().tokens()));
        m.putParams("calibration", calibration.text().describe());
        if (algo == Algorithm.SCALE) {
          m.putParams("clip_scope", options.clipScope().name().toLowerCase(java.util.Locale.ROOT));
          m.putParams("calibration_sample_rows", Integer.toString(calibration.of(ModelIr.HEAD).sampleRows()));
        }
      }
      return m.build();
    }
  }
}
