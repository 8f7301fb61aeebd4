package dev.edgelm.daemon.internal.select;

import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * Predicts batch-1 decode speed. Each decode step reads every weight once (and the KV cache so far),
 * and on CPUs those reads, not the arithmetic, set the pace; each step also pays a fixed cost (the
 * ONNX Runtime call, sampling over the vocabulary) that dominates only for tiny models. So
 *
 * <pre>seconds/token = bytes read per token / (bandwidth x {@value #STREAMING_SHARE} x efficiency) + {@value #STEP_SECONDS}</pre>
 *
 * where bytes per token = weight bytes + KV bytes per token x (context / 2) (a stream halfway through
 * its context), bandwidth is the host's single-thread copy figure, {@link #STREAMING_SHARE} the part
 * of it a decode step streams at, and the efficiency the share a kernel reaches on this ISA.
 *
 * <p>Calibration, on this project's 2-vCPU AVX-512 VNNI build host (48 GB/s copy; docs/BENCHMARKS.md):
 * gpt2-small decodes at 46.9 tok/s in fp32, 145.1 in int8 (DynamicQuantizeMatMul) and 187.3 in int4
 * (MatMulNBits, 32-input groups, accuracy_level 4) with one thread; gpt2-fixture (64 MB) at about
 * 455 tok/s in fp32; a 0.7 MB gpt2-tiny at 4,660 tok/s. Hence a streaming share of 0.65, fp32 0.85,
 * int8 with VNNI 0.8, int4 with VNNI 0.75 (predicted 49, 146 and 186 tok/s for gpt2-small at a
 * 1024-token context), and the fixed 0.15 ms a step. Without an int8 dot-product instruction (VNNI,
 * AMX, arm dotprod/i8mm) the quantized kernels widen bytes to 16 bits first and reach about half of
 * that; arm and AMX figures are by analogy, not measured here. Kronecker-factored variants run
 * fp32 MatMuls at {@value #KRONECKER_SHARE} of the fp32 efficiency (measured on gpt2-small). These are predictions; a published
 * measurement or an on-device benchmark replaces them.
 */
final class DecodeSpeedModel {
  private DecodeSpeedModel() {}

  /** How the weights are multiplied. */
  enum Kernel { FP32, FP16, INT8, INT4, KRONECKER }

  /** An efficiency and the words that explain it. */
  record Factor(double value, String why) {
    @Override
    public String toString() {
      return String.format(Locale.ROOT, "%s x%.2f", why, value);
    }
  }

  /** Share of GPU memory bandwidth a GPU execution provider reaches at batch 1. */
  static final double GPU_EFFICIENCY = 0.6;
  /** Share of the single-thread copy bandwidth a decode step streams weights at (see the calibration above). */
  static final double STREAMING_SHARE = 0.65;
  /**
   * Share of the fp32 efficiency a Kronecker-factored variant reaches: gpt2-small's tq-gpt2 variant
   * (322 MB) decodes at 58.5–60.3 tok/s where the fp32 factor would predict 73 (docs/BENCHMARKS.md).
   */
  static final double KRONECKER_SHARE = 0.8;
  /** Fixed cost of one decode step besides reading weights: the runtime call and sampling. */
  static final double STEP_SECONDS = 0.15e-3;

  /** Tokens per second for {@code bytes} read per token at {@code bandwidth} (already scaled) x {@code efficiency}. */
  static double tokensPerSecond(double bytes, double bandwidth, double efficiency) {
    return 1.0 / (bytes / (bandwidth * efficiency) + STEP_SECONDS);
  }

  /** The kernel a variant's operators use (operators decide; the method name breaks ties). */
  static Kernel kernelOf(String method, List<String> ops) {
    for (String op : ops) {
      if (op.endsWith(":MatMulNBits") || op.endsWith(":GatherBlockQuantized")) {
        return Kernel.INT4;
      }
    }
    for (String op : ops) {
      if (op.endsWith(":DynamicQuantizeMatMul") || op.endsWith(":MatMulInteger") || op.endsWith(":MatMulIntegerToFloat")
          || op.endsWith(":QAttention")) {
        return Kernel.INT8;
      }
    }
    String m = method == null ? "" : method.toLowerCase(Locale.ROOT);
    if (m.startsWith("int4")) {
      return Kernel.INT4;
    } else if (m.startsWith("int8")) {
      return Kernel.INT8;
    } else if (m.startsWith("fp16") || m.startsWith("bf16")) {
      return Kernel.FP16;
    } else if (m.startsWith("kron")) {
      return Kernel.KRONECKER;
    }
    return Kernel.FP32;
  }

  static double bytesPerToken(long weightBytes, long kvBytesPerToken, int context) {
    return weightBytes + kvBytesPerToken * (context / 2.0);
  }

  /** Whether the CPU has an int8 dot-product instruction. */
  static String int8Dot(Set<String> f) {
    for (String d : List.of("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "dotprod")) {
      if (f.contains(d)) {
        return d;
      }
    }
    return null;
  }

  /** The CPU efficiency of {@code kernel} on a host of {@code arch} with {@code features}. */
  static Factor cpu(Kernel kernel, int accuracyLevel, String arch, Set<String> features) {
    boolean x86 = arch.equals("x86_64");
    boolean arm = arch.equals("aarch64");
    String dot = int8Dot(features);
    return switch (kernel) {
      case FP32 -> fp32(x86, arm, features);
      case FP16 -> arm && features.contains("fp16") ? new Factor(0.7, "fp16 MatMul with fp16")
          : new Factor(0.3, "fp16 weights without fp16 arithmetic (converted every step)");
      case INT8 -> {
        if (dot != null) {
          yield new Factor(switch (dot) {
            case "amx_int8" -> 0.95;
            case "avx512_vnni", "i8mm" -> 0.8;
            default -> 0.75;
          }, "int8 DynamicQuantizeMatMul with " + dot);
        } else if (x86 && features.contains("avx512bw")) {
          yield new Factor(0.5, "int8 DynamicQuantizeMatMul without VNNI (avx512bw)");
        } else if (x86 && features.contains("avx2")) {
          yield new Factor(0.4, "int8 DynamicQuantizeMatMul without VNNI (avx2)");
        } else if (arm && features.contains("asimd")) {
          yield new Factor(0.3, "int8 DynamicQuantizeMatMul without dotprod (asimd)");
        }
        yield new Factor(0.15, "int8 DynamicQuantizeMatMul without vector int8 instructions");
      }
      case KRONECKER -> {
        Factor f = fp32(x86, arm, features);
        yield new Factor(Math.round(f.value() * KRONECKER_SHARE * 100) / 100.0,
            "Kronecker-factored fp32 MatMuls (two thin products and ~10 small nodes per matrix)");
      }
      case INT4 -> {
        if (accuracyLevel == 4) {
          if (dot != null) {
            yield new Factor(dot.equals("avx_vnni") || dot.equals("dotprod") ? 0.7 : 0.75, "int4 MatMulNBits accuracy_level=4 with " + dot);
          } else if (x86 && (features.contains("avx512bw") || features.contains("avx2"))) {
            yield new Factor(0.35, "int4 MatMulNBits accuracy_level=4 without VNNI");
          }
        }
        Factor f = fp32(x86, arm, features);
        String how = accuracyLevel == 4 ? "int4 MatMulNBits (accuracy_level=4 needs int8 dot products; dequantizes to fp32)"
            : "int4 MatMulNBits accuracy_level=" + accuracyLevel + " (dequantizes to fp32)";
        yield new Factor(Math.round(f.value() * 0.5 * 100) / 100.0, how);
      }
    };
  }

  private static Factor fp32(boolean x86, boolean arm, Set<String> features) {
    if (x86 && features.contains("avx512f")) {
      return new Factor(0.85, "fp32 MatMul with avx512f");
    } else if (x86 && features.contains("avx2")) {
      return new Factor(0.8, "fp32 MatMul with avx2");
    } else if (arm && features.contains("asimd")) {
      return new Factor(0.8, "fp32 MatMul with asimd");
    }
    return new Factor(0.5, "fp32 MatMul without wide vectors");
  }
}
