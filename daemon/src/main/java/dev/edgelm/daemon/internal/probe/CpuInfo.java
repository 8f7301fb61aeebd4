package dev.edgelm.daemon.internal.probe;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * The CPU as Linux's {@code /proc/cpuinfo} describes it: architecture, model, logical processors,
 * and the features that matter to ONNX Runtime's kernels under canonical names.
 *
 * <p>x86 reports {@code flags}; the kernel's names are kept ({@code avx2}, {@code avx512f},
 * {@code avx512_vnni}, {@code avx_vnni}, {@code amx_int8}…) and {@code amx} is added when the AMX
 * tile and int8 units are both there. arm64 reports {@code Features} in the kernel's hwcap names,
 * mapped to the architecture's: {@code asimd}, {@code asimddp} → {@code dotprod}, {@code i8mm},
 * {@code sve}, {@code sve2}, {@code asimdhp} → {@code fp16}, {@code bf16}. Other flags are dropped:
 * a variant can only require features edgelm knows.
 */
record CpuInfo(String arch, String model, int processors, Set<String> features) {

  /** x86 flags kept as they are. */
  static final Set<String> X86_FEATURES = Set.of("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512bw", "avx512vl",
      "avx512dq", "avx512_vnni", "avx_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_int8", "amx_bf16");
  /** arm64 hwcap names and what edgelm calls them. */
  static final Map<String, String> ARM_FEATURES = Map.of("asimd", "asimd", "neon", "asimd", "asimddp", "dotprod", "i8mm", "i8mm",
      "sve", "sve", "sve2", "sve2", "asimdhp", "fp16", "bf16", "bf16");
  /** Features with int8 dot-product instructions (what quantized GEMMs want). */
  public static final List<String> INT8_DOT_PRODUCT = List.of("amx_int8", "avx512_vnni", "avx_vnni", "i8mm", "dotprod");

  /** Parses {@code /proc/cpuinfo}; {@code jvmArch} names the architecture when the text does not show it. */
  static CpuInfo parse(String text, String jvmArch) {
    String model = "";
    String armPart = "";
    String armImplementer = "";
    int processors = 0;
    Set<String> features = new TreeSet<>();
    boolean x86 = false;
    boolean arm = false;
    for (String line : text.split("\n")) {
      int colon = line.indexOf(':');
      if (colon < 0) {
        continue;
      }
      String key = line.substring(0, colon).strip().toLowerCase(Locale.ROOT);
      String value = line.substring(colon + 1).strip();
      switch (key) {
        case "processor" -> processors++;
        case "model name" -> {
          if (model.isEmpty()) {
            model = value;
          }
        }
        case "cpu implementer" -> armImplementer = value;
        case "cpu part" -> armPart = value;
        case "flags" -> {
          if (!x86) {
            x86 = true;
            for (String f : value.split("\\s+")) {
              if (X86_FEATURES.contains(f)) {
                features.add(f);
              }
            }
          }
        }
        case "features" -> {
          if (!arm) {
            arm = true;
            for (String f : value.split("\\s+")) {
              String canonical = ARM_FEATURES.get(f);
              if (canonical != null) {
                features.add(canonical);
              }
            }
          }
        }
        default -> { }
      }
    }
    if (features.contains("amx_tile") && features.contains("amx_int8")) {
      features.add("amx");
    }
    String arch = x86 ? "x86_64" : arm && features.contains("asimd") ? "aarch64" : normalizeArch(jvmArch);
    if (model.isEmpty() && !armPart.isEmpty()) {
      model = "ARM implementer " + armImplementer + " part " + armPart;
    }
    return new CpuInfo(arch, model.isEmpty() ? "unknown" : model, processors, features);
  }

  /** The JVM's {@code os.arch} under the names edgelm uses. */
  static String normalizeArch(String jvmArch) {
    String a = jvmArch == null ? "" : jvmArch.toLowerCase(Locale.ROOT);
    return switch (a) {
      case "amd64", "x86_64", "x86-64" -> "x86_64";
      case "aarch64", "arm64" -> "aarch64";
      default -> a.isEmpty() ? "unknown" : a;
    };
  }
}
