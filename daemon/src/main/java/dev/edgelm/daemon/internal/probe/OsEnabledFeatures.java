package dev.edgelm.daemon.internal.probe;

import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which of the x86 features {@code /proc/cpuinfo} lists this process may actually use.
 *
 * <p>{@code /proc/cpuinfo} shows what CPUID says, and a hypervisor can pass CPUID bits through for
 * state the guest's OS never enables: AVX needs XCR0 bits 1-2, AVX-512 bits 5-7, AMX bits 17-18
 * (XTILECFG, XTILEDATA). A kernel or guest that lists {@code amx_int8} without that state turns the
 * first tile instruction into SIGILL, and a selector that believed the listing predicted int8 with an
 * AMX factor it never gets. The JVM cannot run XGETBV, but glibc's dynamic loader does, at every
 * start: {@code ld.so --list-diagnostics} (glibc 2.33 and later) prints per CPUID word both what the
 * CPU reports ({@code cpuid}) and what glibc found usable after checking XCR0 ({@code active}). This
 * class reads the {@code active} words, so a feature is kept only when the OS enables its state.
 *
 * <p>Without that evidence (musl, old glibc, another OS) the listed features are kept, except AMX:
 * tiles are claimed only when an OS-level check confirms them, because a wrong AMX claim is the
 * expensive mistake (the selector's int8 factor rises from 0.8 to 0.95, and native code that trusts
 * CPUID crashes). Linux additionally requires a per-process permission for tile data
 * ({@code arch_prctl(ARCH_REQ_XCOMP_PERM)}); ONNX Runtime requests it itself, and the kernel grants it
 * whenever XCR0 carries the state.
 *
 * <p>The word layout is glibc's {@code cpu_features} array: index 0 is CPUID leaf 1, 1 is leaf 7,
 * 6 is leaf 7 subleaf 1; registers eax, ebx, ecx, edx are 0-3. It has been stable since glibc 2.33.
 */
final class OsEnabledFeatures {
  private OsEnabledFeatures() {}

  /** The x86-64 dynamic loader, run as a program. */
  static final List<String> LD_SO_DIAGNOSTICS = List.of("/lib64/ld-linux-x86-64.so.2", "--list-diagnostics");
  private static final Set<String> AMX = Set.of("amx_tile", "amx_int8", "amx_bf16", "amx");
  private static final Pattern ACTIVE = Pattern.compile("x86\\.cpu_features\\.features\\[0x([0-9a-f]+)\\]\\.active\\[0x([0-9a-f]+)\\]=0x([0-9a-f]+)");

  /** Feature → {glibc index, register, bit}. */
  private static final Map<String, int[]> BITS = Map.ofEntries(
      Map.entry("fma", new int[] {0, 2, 12}),
      Map.entry("sse4_1", new int[] {0, 2, 19}),
      Map.entry("sse4_2", new int[] {0, 2, 20}),
      Map.entry("avx", new int[] {0, 2, 28}),
      Map.entry("f16c", new int[] {0, 2, 29}),
      Map.entry("avx2", new int[] {1, 1, 5}),
      Map.entry("avx512f", new int[] {1, 1, 16}),
      Map.entry("avx512dq", new int[] {1, 1, 17}),
      Map.entry("avx512cd", new int[] {1, 1, 28}),
      Map.entry("avx512bw", new int[] {1, 1, 30}),
      Map.entry("avx512vl", new int[] {1, 1, 31}),
      Map.entry("avx512_vnni", new int[] {1, 2, 11}),
      Map.entry("amx_bf16", new int[] {1, 3, 22}),
      Map.entry("avx512_fp16", new int[] {1, 3, 23}),
      Map.entry("amx_tile", new int[] {1, 3, 24}),
      Map.entry("amx_int8", new int[] {1, 3, 25}),
      Map.entry("avx_vnni", new int[] {6, 0, 4}),
      Map.entry("avx512_bf16", new int[] {6, 0, 5}));

  /**
   * {@code listed} less what the OS does not enable for this process, with {@code amx} named when
   * tiles and int8 tiles both remain. {@code commands} runs the loader (a fake in tests).
   */
  static Set<String> of(Set<String> listed, String arch, Function<List<String>, Optional<String>> commands) {
    if (!arch.equals("x86_64") || listed.stream().noneMatch(f -> BITS.containsKey(f))) {
      return listed;
    }
    Optional<String> diagnostics = commands.apply(LD_SO_DIAGNOSTICS);
    return filter(listed, diagnostics.flatMap(OsEnabledFeatures::activeWords));
  }

  /** The filter itself: {@code active} is glibc's words by index and register, or empty when unknown. */
  static Set<String> filter(Set<String> listed, Optional<Map<Integer, long[]>> active) {
    Set<String> out = new TreeSet<>();
    for (String f : listed) {
      if (f.equals("amx")) {
        continue; // derived below
      }
      int[] where = BITS.get(f);
      if (active.isEmpty()) {
        if (!AMX.contains(f)) {
          out.add(f);
        }
      } else if (where == null || usable(active.get(), where)) {
        out.add(f);
      }
    }
    if (out.contains("amx_tile") && out.contains("amx_int8")) {
      out.add("amx");
    }
    return out;
  }

  private static boolean usable(Map<Integer, long[]> active, int[] where) {
    long[] regs = active.get(where[0]);
    return regs != null && (regs[where[1]] >>> where[2] & 1) == 1;
  }

  /** glibc's {@code active} words, or empty when the text has none (not glibc's diagnostics). */
  static Optional<Map<Integer, long[]>> activeWords(String diagnostics) {
    Map<Integer, long[]> words = new java.util.HashMap<>();
    Matcher m = ACTIVE.matcher(diagnostics);
    while (m.find()) {
      int index = Integer.parseInt(m.group(1), 16);
      int reg = Integer.parseInt(m.group(2), 16);
      if (reg < 4) {
        words.computeIfAbsent(index, i -> new long[4])[reg] = Long.parseLong(m.group(3), 16);
      }
    }
    return words.containsKey(0) && words.containsKey(1) ? Optional.of(words) : Optional.empty();
  }
}
