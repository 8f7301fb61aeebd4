package dev.edgelm.compressor.quant;

import dev.edgelm.compressor.UsageException;
import java.util.List;

/**
 * What to quantize to and how.
 *
 * @param groupSize inputs per block for int4 (one of {@link #GROUP_SIZES}); 0 for int8, which has one
 *     scale per output channel
 * @param accuracyLevel MatMulNBits' {@code accuracy_level} for int4 (0–4; 4 quantizes activations to
 *     int8 blockwise, ONNX Runtime's fast CPU path); ignored for int8
 * @param clipScope scale only: one clipping ratio per module or per output channel (a table tied to
 *     the head always gets one, see {@link Quantizer})
 * @param actOrder GPTQ only: quantize inputs by decreasing Hessian diagonal
 * @param damping GPTQ only: fraction of the mean Hessian diagonal added to it
 * @param threads worker threads
 */
public record QuantizationOptions(
    Precision precision, int groupSize, Algorithm algorithm, int accuracyLevel, ClipScope clipScope, boolean actOrder,
    double damping, int threads) {
  public static final int DEFAULT_GROUP_SIZE = 32;
  /** Power-of-two block sizes the int4 kernels take. */
  public static final List<Integer> GROUP_SIZES = List.of(32, 64, 128);
  public static final int DEFAULT_ACCURACY_LEVEL = 4;
  public static final double DEFAULT_DAMPING = 0.01;
  public static final ClipScope DEFAULT_CLIP_SCOPE = ClipScope.CHANNEL;

  /** @throws UsageException naming the option that does not fit */
  public QuantizationOptions {
    if (precision == null || algorithm == null || clipScope == null) {
      throw new UsageException("precision, algorithm and clip scope must be given");
    }
    if (precision == Precision.INT8 && groupSize != 0) {
      throw new UsageException("int8 has one scale per output channel; a group size (" + groupSize + ") applies to int4 only");
    }
    if (precision == Precision.INT4 && !GROUP_SIZES.contains(groupSize)) {
      throw new UsageException("int4 group size must be one of " + GROUP_SIZES + ", got " + groupSize);
    }
    if (accuracyLevel < 0 || accuracyLevel > 4) {
      throw new UsageException("accuracy level must be 0 to 4, got " + accuracyLevel);
    }
    if (!(damping > 0 && damping <= 1)) {
      throw new UsageException("GPTQ damping must be in (0, 1], got " + damping);
    }
    if (threads < 1) {
      throw new UsageException("threads must be at least 1, got " + threads);
    }
  }

  public static QuantizationOptions int8(Algorithm algorithm) {
    return new QuantizationOptions(Precision.INT8, 0, algorithm, DEFAULT_ACCURACY_LEVEL, DEFAULT_CLIP_SCOPE, false,
        DEFAULT_DAMPING, defaultThreads());
  }

  public static QuantizationOptions int4(int groupSize, Algorithm algorithm) {
    return new QuantizationOptions(Precision.INT4, groupSize, algorithm, DEFAULT_ACCURACY_LEVEL, DEFAULT_CLIP_SCOPE, false,
        DEFAULT_DAMPING, defaultThreads());
  }

  private static int defaultThreads() {
    return Runtime.getRuntime().availableProcessors();
  }

  public QuantizationOptions withAccuracyLevel(int level) {
    return new QuantizationOptions(precision, groupSize, algorithm, level, clipScope, actOrder, damping, threads);
  }

  public QuantizationOptions withClipScope(ClipScope scope) {
    return new QuantizationOptions(precision, groupSize, algorithm, accuracyLevel, scope, actOrder, damping, threads);
  }

  public QuantizationOptions withActOrder(boolean on) {
    return new QuantizationOptions(precision, groupSize, algorithm, accuracyLevel, clipScope, on, damping, threads);
  }

  public QuantizationOptions withDamping(double d) {
    return new QuantizationOptions(precision, groupSize, algorithm, accuracyLevel, clipScope, actOrder, d, threads);
  }

  public QuantizationOptions withThreads(int n) {
    return new QuantizationOptions(precision, groupSize, algorithm, accuracyLevel, clipScope, actOrder, damping, n);
  }

  /** The variant id these options give by default: {@code int8}, {@code int8-gptq}, {@code int4-g32-rtn}… */
  public String variantId() {
    if (precision == Precision.INT8) {
      return algorithm == Algorithm.RTN ? "int8" : "int8-" + algorithm.id()
          + (algorithm == Algorithm.SCALE && clipScope == ClipScope.MODULE ? "-module" : "");
    }
    String suffix = algorithm == Algorithm.GPTQ && actOrder ? "-act"
        : algorithm == Algorithm.SCALE && clipScope == ClipScope.MODULE ? "-module" : "";
    return "int4-g" + groupSize + "-" + algorithm.id() + suffix;
  }
}
