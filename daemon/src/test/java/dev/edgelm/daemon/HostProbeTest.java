package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.FakeHostRoot;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The host probe over fake {@code /proc} and cgroup trees, vendor tools and meters; and once over this machine. */
class HostProbeTest {
  private static final String EPYC_FLAGS = "fpu vme sse sse2 ssse3 fma cx16 sse4_1 sse4_2 movbe popcnt aes xsave avx f16c rdrand hypervisor lahf_lm "
      + "abm sse4a bmi1 avx2 smep bmi2 erms invpcid avx512f avx512dq rdseed adx smap avx512ifma clflushopt clwb avx512cd sha_ni avx512bw "
      + "avx512vl xsaveopt avx_vnni avx512_bf16 avx512vbmi umip pku avx512_vbmi2 gfni vaes vpclmulqdq avx512_vnni avx512_bitalg";
  private static final HostCapabilities.OnnxRuntimeInfo CPU_ORT = new HostCapabilities.OnnxRuntimeInfo("1.28.0", Set.of("cpu"));
  private static final Function<List<String>, Optional<String>> NO_TOOLS = argv -> Optional.empty();

  @TempDir Path tmp;

  private HostProbe.Options options(Path root, int cpus) {
    return new HostProbe.Options(root, tmp.resolve("cache"), true, HostOverrides.NONE, cpus, () -> CPU_ORT, NO_TOOLS, () -> 12.5e9,
        java.time.Clock.systemUTC());
  }

  @Test
  void probe_x86WithCgroupV2Limits_readsFeaturesQuotaAndTheTighterMemory() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("x86")).x86CpuInfo("AMD EPYC 9R14", 8, EPYC_FLAGS)
        .memInfo(32L << 20, 30L << 20) // 32 GiB, 30 GiB available (in KiB)
        .cgroupV2("/kubepods/pod1/c1", Long.toString(2L << 30), 512L << 20, "150000 100000");
    HostCapabilities h = HostProbe.create(options(root.root(), 8)).probe();
    assertEquals("linux", h.os());
    assertEquals("x86_64", h.arch());
    assertEquals("AMD EPYC 9R14", h.cpuModel());
    assertTrue(h.cpuFeatures().containsAll(Set.of("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "avx512_bf16", "fma")), h.cpuFeatures().toString());
    assertFalse(h.cpuFeatures().contains("sse4a"), "flags edgelm does not use are dropped");
    assertFalse(h.cpuFeatures().contains("amx"));
    assertEquals(2, h.cores(), "1.5 CPUs of quota round up to 2");
    assertEquals(1.5, h.cpuQuota(), 1e-9);
    assertEquals(32L << 30, h.memory().totalBytes());
    assertEquals(30L << 30, h.memory().availableBytes());
    assertEquals(2L << 30, h.memory().cgroupLimitBytes());
    assertEquals(512L << 20, h.memory().cgroupUsageBytes());
    assertEquals((2L << 30) - (512L << 20), h.memory().usableBytes(), "limit less usage is tighter than MemAvailable");
    assertEquals(new HostCapabilities.Bandwidth(12.5e9, "measured"), h.memoryBandwidth());
    assertTrue(h.overridden().isEmpty());
  }

  @Test
  void probe_cgroupV1Hybrid_readsLimitUsageAndCfsQuota() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("v1")).x86CpuInfo("Intel Xeon", 16, "sse4_2 avx avx2 fma avx512f amx_tile amx_int8 amx_bf16")
        .memInfo(64L << 20, 60L << 20)
        .cgroupV1("/process_api/abc", 1L << 30, 100L << 20, 400000, 100000);
    HostCapabilities h = HostProbe.create(options(root.root(), 16).withCommands(ldSo(SAPPHIRE_RAPIDS_CPUID, SAPPHIRE_RAPIDS_CPUID))).probe();
    assertTrue(h.cpuFeatures().containsAll(Set.of("amx_tile", "amx_int8", "amx")), "amx is named when tiles and int8 are there");
    assertEquals(4, h.cores());
    assertEquals(1L << 30, h.memory().cgroupLimitBytes());
    assertEquals((1L << 30) - (100L << 20), h.memory().usableBytes());
  }

  /** CPUID words (glibc index 0 = leaf 1, 1 = leaf 7; registers eax..edx) of an AMX host: avx, fma, f16c, sse4; avx2, avx512f/dq/cd/bw/vl; avx512_vnni; amx_bf16/tile/int8. */
  private static final long[][] SAPPHIRE_RAPIDS_CPUID = {{0, 0, 0x30181000L, 0}, {0, 0xD0030020L, 0x800, 0x03400000L}};
  /** The same CPU in a guest whose XCR0 lacks the tile state: glibc finds everything but AMX usable. */
  private static final long[][] SAPPHIRE_RAPIDS_NO_TILES = {{0, 0, 0x30181000L, 0}, {0, 0xD0030020L, 0x800, 0}};

  /** A fake {@code ld.so --list-diagnostics}, in glibc's format, with these CPUID and usable ("active") words. */
  private static Function<List<String>, Optional<String>> ldSo(long[][] cpuid, long[][] active) {
    StringBuilder s = new StringBuilder("version.version=\"2.36\"\nx86.cpu_features.basic.kind=0x1\n");
    for (int i = 0; i < cpuid.length; i++) {
      for (int r = 0; r < 4; r++) {
        s.append(String.format("x86.cpu_features.features[0x%x].cpuid[0x%x]=0x%x%n", i, r, cpuid[i][r]));
      }
      for (int r = 0; r < 4; r++) {
        s.append(String.format("x86.cpu_features.features[0x%x].active[0x%x]=0x%x%n", i, r, active[i][r]));
      }
    }
    String text = s.toString();
    return argv -> argv.get(0).endsWith("ld-linux-x86-64.so.2") && argv.contains("--list-diagnostics") ? Optional.of(text) : Optional.empty();
  }

  @Test
  void probe_amxListedButNotEnabledByTheOs_isNotReported() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("amx-guest")).x86CpuInfo("Intel Xeon Platinum 8488C", 2,
        "sse4_1 sse4_2 avx avx2 fma f16c avx512f avx512dq avx512cd avx512bw avx512vl avx512_vnni amx_bf16 amx_tile amx_int8").memInfo(8L << 20, 6L << 20);
    HostCapabilities h = HostProbe.create(options(root.root(), 2).withCommands(ldSo(SAPPHIRE_RAPIDS_CPUID, SAPPHIRE_RAPIDS_NO_TILES))).probe();
    assertTrue(h.cpuFeatures().containsAll(Set.of("avx2", "avx512f", "avx512bw", "avx512_vnni", "fma", "f16c")), h.cpuFeatures().toString());
    for (String f : List.of("amx", "amx_tile", "amx_int8", "amx_bf16")) {
      assertFalse(h.cpuFeatures().contains(f), f + " is listed by /proc/cpuinfo but the OS does not enable tile state");
    }
  }

  @Test
  void probe_withoutOsEvidence_keepsListedFeaturesButNotAmx() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("no-ldso")).x86CpuInfo("Intel Xeon", 2, "avx avx2 avx512f avx512_vnni amx_tile amx_int8")
        .memInfo(8L << 20, 6L << 20);
    HostCapabilities h = HostProbe.create(options(root.root(), 2)).probe(); // no loader answers
    assertEquals(Set.of("avx", "avx2", "avx512f", "avx512_vnni"), h.cpuFeatures(), "tiles are claimed only on an OS-level check");
  }

  @Test
  void probe_avx512ListedButZmmStateDisabled_dropsAvx512() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("no-zmm")).x86CpuInfo("Intel Xeon", 2, "sse4_2 avx avx2 fma avx512f avx512bw avx512vl avx512_vnni")
        .memInfo(8L << 20, 6L << 20);
    long[][] avxOnly = {{0, 0, 0x30181000L, 0}, {0, 0x20, 0, 0}}; // XCR0 without opmask/ZMM: glibc keeps avx2, clears AVX-512
    HostCapabilities h = HostProbe.create(options(root.root(), 2).withCommands(ldSo(SAPPHIRE_RAPIDS_CPUID, avxOnly))).probe();
    assertEquals(Set.of("sse4_2", "avx", "avx2", "fma"), h.cpuFeatures());
  }

  @Test
  void probe_realLoaderOutputOfAnAvx512Epyc_keepsItsFeatures() throws IOException {
    String captured;
    try (var in = HostProbeTest.class.getResourceAsStream("/probe/ld-so-diagnostics-epyc-avx512.txt")) {
      captured = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8); // this project's build host, glibc 2.36
    }
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("epyc")).x86CpuInfo("AMD EPYC", 2, EPYC_FLAGS.replace(" avx_vnni", "")).memInfo(8L << 20, 6L << 20);
    HostCapabilities h = HostProbe.create(options(root.root(), 2).withCommands(argv -> Optional.of(captured))).probe();
    assertEquals(Set.of("sse4_1", "sse4_2", "avx", "avx2", "fma", "f16c", "avx512f", "avx512dq", "avx512bw", "avx512vl",
        "avx512_vnni", "avx512_bf16"), h.cpuFeatures());
  }

  @Test
  void probe_noCgroupLimit_usesMemAvailable() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("bare")).x86CpuInfo("Intel", 2, "sse4_2 avx avx2").memInfo(8L << 20, 5L << 20)
        .cgroupV2("/", "max", 123, "max 100000");
    HostCapabilities h = HostProbe.create(options(root.root(), 2)).probe();
    assertEquals(0, h.memory().cgroupLimitBytes());
    assertEquals(5L << 30, h.memory().usableBytes());
    assertEquals(0, h.cpuQuota());
    assertEquals(2, h.cores());
  }

  @Test
  void probe_arm64_mapsHwcapNames() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("arm")).armCpuInfo(4,
        "fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp i8mm bf16 sve sve2")
        .memInfo(4L << 20, 3L << 20);
    HostCapabilities h = HostProbe.create(options(root.root(), 8)).probe();
    assertEquals("aarch64", h.arch());
    assertEquals(Set.of("asimd", "dotprod", "i8mm", "fp16", "bf16", "sve", "sve2"), h.cpuFeatures());
    assertEquals("ARM implementer 0x41 part 0xd0c", h.cpuModel());
    assertEquals(4, h.cores(), "four processors listed, though the JVM was told eight");
  }

  @Test
  void probe_gpus_comeFromTheVendorTools() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("gpu")).x86CpuInfo("Intel", 4, "avx2").memInfo(16L << 20, 12L << 20);
    Function<List<String>, Optional<String>> tools = argv -> switch (argv.get(0)) {
      case "nvidia-smi" -> Optional.of("NVIDIA A10G, 23028, 22515\nNVIDIA T4, [N/A], [N/A]\n");
      case "rocm-smi" -> Optional.of("{\"card0\": {\"VRAM Total Memory (B)\": \"17163091968\", \"VRAM Total Used Memory (B)\": \"1163091968\"}}");
      default -> Optional.empty();
    };
    HostCapabilities h = HostProbe.create(options(root.root(), 4).withCommands(tools)
        .withOnnxRuntime(() -> new HostCapabilities.OnnxRuntimeInfo("1.28.0", Set.of("cpu", "cuda")))).probe();
    assertEquals(List.of(new HostCapabilities.Gpu("nvidia", "NVIDIA A10G", 23028L << 20, 22515L << 20, 0),
        new HostCapabilities.Gpu("amd", "AMD GPU card0", 17163091968L, 16000000000L, 0)), h.gpus());
    assertEquals(22515L << 20, h.gpuMemoryFreeBytes());
    assertEquals(Set.of("cpu", "cuda"), h.onnxRuntime().executionProviders());
  }

  @Test
  void probe_bandwidth_isMeasuredOnceAndCachedOnDiskPerFingerprint() throws IOException {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("bw")).x86CpuInfo("Intel", 4, "avx2").memInfo(16L << 20, 12L << 20);
    AtomicInteger measured = new AtomicInteger();
    HostProbe.Options o = options(root.root(), 4).withBandwidthMeter(() -> {
      measured.incrementAndGet();
      return 9e9;
    });
    HostProbe probe = HostProbe.create(o);
    assertEquals(new HostCapabilities.Bandwidth(9e9, "measured"), probe.probe().memoryBandwidth());
    assertEquals(new HostCapabilities.Bandwidth(9e9, "measured"), probe.probe().memoryBandwidth());
    HostCapabilities again = HostProbe.create(o).probe();
    assertEquals(new HostCapabilities.Bandwidth(9e9, "cached"), again.memoryBandwidth(), "a new process reads the cache");
    assertEquals(1, measured.get());
    assertTrue(Files.isRegularFile(tmp.resolve("cache").resolve("bandwidth-" + again.fingerprint() + ".json")));

    root.x86CpuInfo("Intel", 8, "avx2"); // new hardware: another fingerprint, measured again
    HostCapabilities resized = HostProbe.create(o.withAvailableProcessors(8)).probe();
    assertFalse(resized.fingerprint().equals(again.fingerprint()));
    assertEquals("measured", resized.memoryBandwidth().source());
    assertEquals(2, measured.get());

    HostCapabilities assumed = HostProbe.create(options(new FakeHostRoot(tmp.resolve("bw2")).x86CpuInfo("Other", 2, "avx").root(), 2)
        .withMeasureBandwidth(false)).probe();
    assertEquals(new HostCapabilities.Bandwidth(HostProbe.Options.ASSUMED_BANDWIDTH, "assumed"), assumed.memoryBandwidth());
  }

  @Test
  void probe_overrides_replaceProbedFactsAndSayWhere() {
    FakeHostRoot root = new FakeHostRoot(tmp.resolve("ovr")).x86CpuInfo("Intel", 4, "avx2 avx512f avx512_vnni").memInfo(16L << 20, 12L << 20);
    HostOverrides o = new HostOverrides("aarch64", Set.of("asimd", "dotprod"), 2, 1L << 30, Set.of("cpu", "cuda"), "1.17.0", 4L << 30, 5e9, 900e9,
        Map.of("host.memory", "file /etc/edgelm/edgelmd.yaml"));
    HostCapabilities h = HostProbe.create(options(root.root(), 4).withOverrides(o)).probe();
    assertEquals("aarch64", h.arch());
    assertEquals(Set.of("asimd", "dotprod"), h.cpuFeatures());
    assertEquals(2, h.cores());
    assertEquals(1L << 30, h.memory().usableBytes());
    assertEquals(12L << 30, h.memory().availableBytes(), "the probed figure is still reported");
    assertEquals(new HostCapabilities.OnnxRuntimeInfo("1.17.0", Set.of("cpu", "cuda")), h.onnxRuntime());
    assertEquals(List.of(new HostCapabilities.Gpu("configured", "configured GPU", 4L << 30, 4L << 30, 900e9)), h.gpus());
    assertEquals(new HostCapabilities.Bandwidth(5e9, "configured"), h.memoryBandwidth());
    assertEquals("file /etc/edgelm/edgelmd.yaml: host.memory", h.overridden().get("memory"));
    assertEquals("config: host.cores", h.overridden().get("cores"));
    assertEquals(9, h.overridden().size(), h.overridden().toString());
    assertEquals(Map.of(), HostOverrides.NONE.describe());
  }

  @Test
  void probe_thisMachine_agreesWithProc() throws IOException {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(cpuinfo), "needs Linux /proc");
    HostCapabilities h = HostProbe.create(HostProbe.Options.system(null, HostOverrides.NONE).withMeasureBandwidth(false)).probe();
    String flags = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags") || l.startsWith("Features")).findFirst().orElse("");
    Set<String> procFlags = Set.of(flags.substring(flags.indexOf(':') + 1).strip().split("\\s+"));
    for (String f : List.of("avx2", "avx512f", "avx512_vnni", "avx_vnni")) {
      assertEquals(procFlags.contains(f), h.cpuFeatures().contains(f), f);
    }
    if (h.cpuFeatures().contains("amx_int8")) {
      assertTrue(procFlags.contains("amx_int8"), "a feature the OS enables is one the CPU lists");
    }
    assertEquals(Runtime.getRuntime().availableProcessors(), h.cores());
    long memTotalKib = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
        .map(l -> Long.parseLong(l.replaceAll("\\D", ""))).findFirst().orElseThrow();
    assertEquals(memTotalKib * 1024, h.memory().totalBytes());
    assertTrue(h.memory().usableBytes() > 0 && h.memory().usableBytes() <= h.memory().totalBytes());
    assertTrue(h.onnxRuntime().executionProviders().contains("cpu"), h.onnxRuntime().toString());
    assertTrue(h.onnxRuntime().version().matches("\\d+\\.\\d+\\.\\d+"), h.onnxRuntime().version());
  }
}
