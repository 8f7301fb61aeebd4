package dev.edgelm.compressor.calib;

import ai.onnxruntime.NodeInfo;
import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtLoggingLevel;
import ai.onnxruntime.OrtSession;
import ai.onnxruntime.TensorInfo;
import dev.edgelm.compressor.OutputException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.onnx.Attr;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.DecoderEmitter;
import dev.edgelm.compressor.onnx.GraphBuilder;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import dev.edgelm.compressor.packaging.PackageWriter;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Runs the base fp32 model over calibration text in ONNX Runtime and gathers, for the input of
 * every linear layer, the statistics the quantization algorithms need.
 *
 * <p>The capture graph is the model's own decoder graph ({@link DecoderEmitter}) with, for each
 * distinct linear input X (flattened to [tokens, K]), a {@code Gemm(X, X, transA=1)} output
 * (XᵀX: the heavy O(tokens·K²) work stays in ONNX Runtime's GEMM) and/or a {@code Gather} of sampled
 * rows; it is then pruned to those outputs, so the logits, which nothing here needs, are never
 * computed. Sequences run in batches; per-batch Gram matrices are summed in double precision.
 *
 * <p>The sampled rows are a uniform random sample (fixed seed) of all calibration tokens, so early
 * positions (e.g. the first token of every sequence, whose activations are unusual) are not
 * over-represented.
 */
public final class Calibrator {
  private static final String SAMPLE_ROWS_INPUT = "calibration.sample_rows";

  private Calibrator() {}

  /**
   * Collects {@code statistics} for every linear layer of {@code base} (and its head) over {@code text}.
   *
   * @param progress receives one line per batch
   * @throws UsageException when a sequence is longer than the model's context
   * @throws OutputException when ONNX Runtime fails or the capture graph cannot be written
   */
  public static Calibration collect(ModelIr base, CalibrationText text, Set<Statistic> statistics,
      CalibrationOptions options, Consumer<String> progress) {
    return collect(base, text, statistics, options, progress, name -> true);
  }

  /**
   * Like {@link #collect(ModelIr, CalibrationText, Set, CalibrationOptions, Consumer)}, for the
   * linear layers {@code only} accepts: the graph is cut after the last of them, so a step that
   * needs one layer's input (pruning, layer by layer) does not run the rest of the model.
   */
  public static Calibration collect(ModelIr base, CalibrationText text, Set<Statistic> statistics,
      CalibrationOptions options, Consumer<String> progress, java.util.function.Predicate<String> only) {
    if (text.sequenceLength() > base.config().contextLength()) {
      throw new UsageException("calibration sequences of " + text.sequenceLength() + " tokens exceed the model's context of "
          + base.config().contextLength());
    }
    EnumSet<Statistic> what = statistics.isEmpty() ? EnumSet.noneOf(Statistic.class) : EnumSet.copyOf(statistics);
    DecoderEmitter.Emitted emitted = DecoderEmitter.emit(base);
    GraphBuilder g = emitted.graph();

    // One capture per distinct input value; linears reading the same value share it.
    Map<String, Integer> widths = new LinkedHashMap<>();
    Map<String, String> valueOfLinear = new LinkedHashMap<>();
    Map<String, Linear> linears = new HashMap<>(base.linears());
    linears.put(ModelIr.HEAD, base.headLinear());
    for (Map.Entry<String, String> e : emitted.linearInputs().entrySet()) {
      if (!only.test(e.getKey())) {
        continue;
      }
      valueOfLinear.put(e.getKey(), e.getValue());
      widths.put(e.getValue(), linears.get(e.getKey()).inFeatures());
    }
    List<Capture> captures = new ArrayList<>();
    List<String> outputs = new ArrayList<>();
    String rowsInput = what.contains(Statistic.SAMPLE) ? g.input(SAMPLE_ROWS_INPUT, DataType.INT64, "sample_rows") : null;
    int j = 0;
    for (Map.Entry<String, Integer> e : widths.entrySet()) {
      int k = e.getValue();
      String flat = g.node("Reshape").in(e.getKey(), g.int64s(-1, k)).out("calibration/" + j + "/flat");
      String gram = null;
      String sums = null;
      String sample = null;
      if (what.contains(Statistic.GRAM)) {
        gram = g.node("Gemm").in(flat, flat).attr(Attr.i("transA", 1)).out("calibration/" + j + "/gram");
        g.output(gram, DataType.FLOAT, k, k);
        outputs.add(gram);
        sums = g.node("ReduceSum").in(flat, g.int64s(0)).attr(Attr.i("keepdims", 0)).out("calibration/" + j + "/sums");
        g.output(sums, DataType.FLOAT, k);
        outputs.add(sums);
      }
      if (rowsInput != null) {
        sample = g.node("Gather").in(flat, rowsInput).attr(Attr.i("axis", 0)).out("calibration/" + j + "/sample");
        g.output(sample, DataType.FLOAT, "sample_rows", k);
        outputs.add(sample);
      }
      captures.add(new Capture(e.getKey(), k, gram, sums, sample));
      j++;
    }
    if (outputs.isEmpty()) {
      throw new IllegalArgumentException("no statistics requested");
    }
    g.pruneTo(outputs);
    return new Run(text, what, options, progress, captures).run(g, valueOfLinear);
  }

  private record Capture(String value, int width, String gramOutput, String sumsOutput, String sampleOutput) {}

  /** One calibration pass: the session, the accumulators, the sample plan. */
  private static final class Run {
    private final CalibrationText text;
    private final Set<Statistic> what;
    private final CalibrationOptions options;
    private final Consumer<String> progress;
    private final List<Capture> captures;
    private final double[][] grams;
    private final double[][] sums;
    private final float[][] samples;
    private final long[] sampleRows;

    Run(CalibrationText text, Set<Statistic> what, CalibrationOptions options, Consumer<String> progress,
        List<Capture> captures) {
      this.text = text;
      this.what = what;
      this.options = options;
      this.progress = progress;
      this.captures = captures;
      this.grams = new double[captures.size()][];
      this.sums = new double[captures.size()][];
      this.samples = new float[captures.size()][];
      long total = text.tokens();
      this.sampleRows = what.contains(Statistic.SAMPLE) ? sampleOf(total, (int) Math.min(options.sampleRows(), total), options.seed()) : new long[0];
      for (int i = 0; i < captures.size(); i++) {
        int k = captures.get(i).width();
        if (what.contains(Statistic.GRAM)) {
          grams[i] = new double[k * k];
          sums[i] = new double[k];
        }
        if (what.contains(Statistic.SAMPLE)) {
          samples[i] = new float[sampleRows.length * k];
        }
      }
    }

    Calibration run(GraphBuilder g, Map<String, String> valueOfLinear) {
      Path dir = null;
      try {
        dir = Files.createTempDirectory("edgelm-calibration");
        Path model = dir.resolve(PackageWriter.MODEL);
        OnnxModelWriter.write(g, model, OnnxModelWriter.Options.defaults("calibration"));
        OrtEnvironment env = OrtEnvironment.getEnvironment(OrtLoggingLevel.ORT_LOGGING_LEVEL_WARNING);
        try (OrtSession.SessionOptions so = new OrtSession.SessionOptions()) {
          so.setIntraOpNumThreads(options.threads());
          so.setOptimizationLevel(OrtSession.SessionOptions.OptLevel.ALL_OPT);
          try (OrtSession session = env.createSession(model.toString(), so)) {
            runBatches(env, session);
          }
        }
      } catch (OrtException e) {
        throw new OutputException("ONNX Runtime failed during calibration: " + e.getMessage(), e);
      } catch (IOException e) {
        throw new OutputException("cannot write the calibration graph: " + e.getMessage(), e);
      } finally {
        if (dir != null) {
          PackageWriter.deleteRecursively(dir);
        }
      }
      Map<String, ActivationStats> byValue = new HashMap<>();
      for (int i = 0; i < captures.size(); i++) {
        Capture c = captures.get(i);
        byValue.put(c.value(), new ActivationStats(c.width(), text.tokens(), grams[i], sums[i], samples[i], sampleRows.length));
      }
      Map<String, ActivationStats> byLinear = new LinkedHashMap<>();
      valueOfLinear.forEach((linear, value) -> byLinear.put(linear, byValue.get(value)));
      return new Calibration(text, byLinear, what);
    }

    private void runBatches(OrtEnvironment env, OrtSession session) throws OrtException {
      int n = text.sequences().size();
      int len = text.sequenceLength();
      int batch = options.batchSize();
      int sampleCursor = 0;
      for (int from = 0; from < n; from += batch) {
        int to = Math.min(n, from + batch);
        int b = to - from;
        long[] ids = new long[b * len];
        long[] ones = new long[b * len];
        long[] positions = new long[b * len];
        int[] flat = text.flatTokens(from, to);
        for (int i = 0; i < ids.length; i++) {
          ids[i] = flat[i];
          ones[i] = 1;
          positions[i] = i % len;
        }
        // Sample rows that fall in this batch, as row indices of its flattened [b*len, K] activations.
        long first = (long) from * len;
        long end = (long) to * len;
        int s0 = sampleCursor;
        while (sampleCursor < sampleRows.length && sampleRows[sampleCursor] < end) {
          sampleCursor++;
        }
        long[] local = new long[sampleCursor - s0];
        for (int i = 0; i < local.length; i++) {
          local[i] = sampleRows[s0 + i] - first;
        }
        List<OnnxTensor> inputs = new ArrayList<>();
        try {
          Map<String, OnnxTensor> feed = new HashMap<>();
          for (Map.Entry<String, NodeInfo> in : session.getInputInfo().entrySet()) {
            String name = in.getKey();
            OnnxTensor t = switch (name) {
              case "input_ids" -> OnnxTensor.createTensor(env, LongBuffer.wrap(ids), new long[] {b, len});
              case "attention_mask" -> OnnxTensor.createTensor(env, LongBuffer.wrap(ones), new long[] {b, len});
              case "position_ids" -> OnnxTensor.createTensor(env, LongBuffer.wrap(positions), new long[] {b, len});
              case SAMPLE_ROWS_INPUT -> OnnxTensor.createTensor(env, LongBuffer.wrap(local), new long[] {local.length});
              default -> emptyPast(env, name, (TensorInfo) in.getValue().getInfo(), b);
            };
            inputs.add(t);
            feed.put(name, t);
          }
          try (OrtSession.Result result = session.run(feed)) {
            for (int i = 0; i < captures.size(); i++) {
              Capture c = captures.get(i);
              if (c.gramOutput() != null) {
                add(grams[i], ((OnnxTensor) result.get(c.gramOutput()).orElseThrow()).getFloatBuffer());
                add(sums[i], ((OnnxTensor) result.get(c.sumsOutput()).orElseThrow()).getFloatBuffer());
              }
              if (c.sampleOutput() != null && local.length > 0) {
                ((OnnxTensor) result.get(c.sampleOutput()).orElseThrow()).getFloatBuffer()
                    .get(samples[i], s0 * c.width(), local.length * c.width());
              }
            }
          }
        } finally {
          inputs.forEach(OnnxTensor::close);
        }
        progress.accept("calibration: " + to + "/" + n + " sequences");
      }
    }

    private OnnxTensor emptyPast(OrtEnvironment env, String name, TensorInfo info, int batch) throws OrtException {
      if (!name.startsWith("past_key_values.")) {
        throw new IllegalStateException("unexpected calibration graph input " + name);
      }
      long[] shape = info.getShape().clone();
      shape[0] = batch;
      shape[2] = 0;
      return OnnxTensor.createTensor(env, FloatBuffer.allocate(0), shape);
    }

    private static void add(double[] sum, FloatBuffer values) {
      for (int i = 0; i < sum.length; i++) {
        sum[i] += values.get(i);
      }
    }

    /** {@code m} distinct indices of {@code [0, total)}, uniformly at random, sorted. */
    private static long[] sampleOf(long total, int m, long seed) {
      Random random = new Random(seed);
      java.util.Set<Long> chosen = new java.util.HashSet<>();
      while (chosen.size() < m) {
        chosen.add((long) (random.nextDouble() * total));
      }
      long[] rows = chosen.stream().mapToLong(Long::longValue).toArray();
      Arrays.sort(rows);
      return rows;
    }
  }
}
