package dev.edgelm.daemon.internal.select;

import java.util.Map;
import java.util.NavigableMap;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;

/**
 * What an ONNX Runtime version can run, as far as variant selection needs to know without loading a
 * graph: the first version with a CPU kernel for each {@code com.microsoft} contrib operator edgelm
 * variants use (ONNX Runtime's CPU provider is always there and takes the nodes other providers
 * cannot), which of those also have CUDA kernels, and the newest default-domain opset each version
 * implements. Default-domain operators are covered by the opset check.
 *
 * <p>From ONNX Runtime's release notes and operator kernel docs; a contrib operator missing from the
 * table is treated as unknown (the variant is rejected with that reason rather than failing at load).
 */
final class OnnxRuntimeKernels {
  private OnnxRuntimeKernels() {}

  /** {@code com.microsoft} operator → first ONNX Runtime version with a CPU kernel. */
  static final Map<String, String> CONTRIB_CPU = Map.ofEntries(
      Map.entry("Attention", "1.3"),
      Map.entry("QAttention", "1.3"),
      Map.entry("FusedMatMul", "1.3"),
      Map.entry("FusedConv", "1.3"),
      Map.entry("Gelu", "1.4"),
      Map.entry("FastGelu", "1.4"),
      Map.entry("BiasGelu", "1.4"),
      Map.entry("DynamicQuantizeMatMul", "1.6"),
      Map.entry("MatMulIntegerToFloat", "1.6"),
      Map.entry("QuantizeLinear", "1.6"),
      Map.entry("DequantizeLinear", "1.6"),
      Map.entry("SkipLayerNormalization", "1.8"),
      Map.entry("QuickGelu", "1.14"),
      Map.entry("MultiHeadAttention", "1.15"),
      Map.entry("RotaryEmbedding", "1.16"),
      Map.entry("MatMulNBits", "1.17"),
      Map.entry("GroupQueryAttention", "1.17"),
      Map.entry("SkipSimplifiedLayerNormalization", "1.17"),
      Map.entry("SimplifiedLayerNormalization", "1.17"),
      Map.entry("GatherBlockQuantized", "1.20"));

  /** Contrib operators with CUDA kernels; the others run on the CPU provider beside a CUDA graph. */
  static final Set<String> CONTRIB_CUDA = Set.of("Attention", "MultiHeadAttention", "GroupQueryAttention", "RotaryEmbedding", "MatMulNBits",
      "SkipLayerNormalization", "SkipSimplifiedLayerNormalization", "SimplifiedLayerNormalization", "FastGelu", "BiasGelu", "Gelu",
      "QuickGelu", "FusedMatMul", "QuantizeLinear", "DequantizeLinear", "GatherBlockQuantized");

  /** First ONNX Runtime version implementing each default-domain opset. */
  private static final NavigableMap<Version, Integer> OPSET = new TreeMap<>(Map.ofEntries(
      Map.entry(Version.parse("1.10"), 15),
      Map.entry(Version.parse("1.11"), 16),
      Map.entry(Version.parse("1.12"), 17),
      Map.entry(Version.parse("1.14"), 18),
      Map.entry(Version.parse("1.15"), 19),
      Map.entry(Version.parse("1.17"), 20),
      Map.entry(Version.parse("1.18"), 21),
      Map.entry(Version.parse("1.20"), 22),
      Map.entry(Version.parse("1.23"), 23)));

  /** The newest opset {@code ort} implements (14 for anything older than the table). */
  static int maxOpset(Version ort) {
    Map.Entry<Version, Integer> e = OPSET.floorEntry(ort);
    return e == null ? 14 : e.getValue();
  }

  /** The first version with a CPU kernel for contrib operator {@code op}; empty when unknown. */
  static Optional<Version> contribSince(String op) {
    return Optional.ofNullable(CONTRIB_CPU.get(op)).map(Version::parse);
  }

  /** A dotted version, compared numerically ("1.9" before "1.17"); missing parts are 0. */
  record Version(int major, int minor, int patch) implements Comparable<Version> {
    static Version parse(String s) {
      String[] p = s.strip().split("[.+-]");
      return new Version(part(p, 0), part(p, 1), part(p, 2));
    }

    /** Whether {@code s} reads as a version at all. */
    static boolean valid(String s) {
      return s != null && s.strip().matches("\\d+(\\.\\d+){0,2}([+-].*)?");
    }

    private static int part(String[] p, int i) {
      try {
        return i < p.length ? Integer.parseInt(p[i]) : 0;
      } catch (NumberFormatException e) {
        return 0;
      }
    }

    @Override
    public int compareTo(Version o) {
      return major != o.major ? Integer.compare(major, o.major) : minor != o.minor ? Integer.compare(minor, o.minor) : Integer.compare(patch, o.patch);
    }

    @Override
    public String toString() {
      return major + "." + minor + "." + patch;
    }
  }
}
