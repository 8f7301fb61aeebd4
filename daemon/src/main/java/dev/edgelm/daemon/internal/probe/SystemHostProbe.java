package dev.edgelm.daemon.internal.probe;

import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtProvider;
import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostOverrides;
import dev.edgelm.daemon.HostProbe;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.logging.Logger;

/**
 * The {@link HostProbe} of a Linux host (and, with fewer facts, of any other): composes the per-source
 * probes ({@link CpuInfo} narrowed by {@link OsEnabledFeatures}, {@link MemInfo}, {@link CgroupLimits}, the ONNX Runtime build, one
 * {@link GpuProbe} per vendor, {@link StreamingCopy}) and applies the operator's overrides last.
 *
 * <p>Threading: thread-safe. The bandwidth is measured at most once per probe and fingerprint
 * (under a lock, so concurrent first probes wait for one measurement) per probe instance and cached on disk.
 */
public final class SystemHostProbe implements HostProbe {
  private static final Logger LOG = Logger.getLogger(SystemHostProbe.class.getName());
  private static volatile HostCapabilities.OnnxRuntimeInfo ortOfThisProcess;

  private final HostProbe.Options options;
  private final HostFiles files;
  private final BandwidthCache cache;
  /** Measurements this probe made, by fingerprint. */
  private final Map<String, Double> measured = new ConcurrentHashMap<>();

  public SystemHostProbe(HostProbe.Options options) {
    this.options = options;
    this.files = new HostFiles(options.root());
    this.cache = new BandwidthCache(options.cacheDir());
  }

  @Override
  public HostCapabilities probe() {
    HostOverrides o = options.overrides();
    Optional<String> cpuText = files.read("/proc/cpuinfo");
    String jvmArch = System.getProperty("os.arch");
    CpuInfo cpu = cpuText.map(t -> CpuInfo.parse(t, jvmArch))
        .orElseGet(() -> new CpuInfo(CpuInfo.normalizeArch(jvmArch), "unknown", 0, Set.of()));
    // What CPUID lists is not what the OS enables: keep only the features this process may use.
    cpu = new CpuInfo(cpu.arch(), cpu.model(), cpu.processors(), OsEnabledFeatures.of(cpu.features(), cpu.arch(), options.commands()));
    String os = cpuText.isPresent() ? "linux" : osName();
    CgroupLimits cgroup = CgroupLimits.read(files);
    int cores = options.availableProcessors();
    if (cpu.processors() > 0) {
      cores = Math.min(cores, cpu.processors());
    }
    if (cgroup.cpuQuota() > 0) {
      cores = Math.max(1, Math.min(cores, (int) Math.ceil(cgroup.cpuQuota())));
    }
    MemInfo mem = files.read("/proc/meminfo").map(MemInfo::parse).orElseGet(SystemHostProbe::jvmMemory);
    long usable = mem.availableBytes();
    if (cgroup.memoryHeadroomBytes() >= 0) {
      usable = Math.min(usable, cgroup.memoryHeadroomBytes());
    }
    HostCapabilities.OnnxRuntimeInfo ort = options.onnxRuntime().get();
    List<HostCapabilities.Gpu> gpus = new ArrayList<>();
    if (o.gpuMemoryBytes() == null) {
      for (GpuProbe p : GpuProbe.ALL) {
        gpus.addAll(p.probe(options.commands()));
      }
    }
    String fingerprint = fingerprint(os, cpu.arch(), cpu.model(), cpu.features(), cores, mem.totalBytes());
    HostCapabilities.Bandwidth bandwidth = o.memoryBandwidth() != null
        ? new HostCapabilities.Bandwidth(o.memoryBandwidth(), "configured")
        : bandwidth(fingerprint);

    String arch = o.arch() != null ? o.arch() : cpu.arch();
    Set<String> features = o.cpuFeatures() != null ? o.cpuFeatures() : cpu.features();
    if (o.cores() != null) {
      cores = o.cores();
    }
    if (o.memoryBytes() != null) {
      usable = o.memoryBytes();
    }
    if (o.executionProviders() != null || o.onnxRuntimeVersion() != null) {
      ort = new HostCapabilities.OnnxRuntimeInfo(o.onnxRuntimeVersion() != null ? o.onnxRuntimeVersion() : ort.version(),
          o.executionProviders() != null ? o.executionProviders() : ort.executionProviders());
    }
    if (o.gpuMemoryBytes() != null) {
      gpus = List.of(new HostCapabilities.Gpu("configured", "configured GPU", o.gpuMemoryBytes(), o.gpuMemoryBytes(), 0));
    }
    if (o.gpuMemoryBandwidth() != null) {
      gpus = gpus.stream().map(g -> new HostCapabilities.Gpu(g.vendor(), g.name(), g.memoryTotalBytes(), g.memoryFreeBytes(),
          o.gpuMemoryBandwidth())).toList();
    }
    HostCapabilities.Memory memory = new HostCapabilities.Memory(mem.totalBytes(), mem.availableBytes(), cgroup.memoryLimitBytes(),
        cgroup.memoryUsageBytes(), usable);
    return new HostCapabilities(os, arch, cpu.model(), features, cores, cgroup.cpuQuota(), memory, ort, gpus, bandwidth, o.describe(),
        fingerprint);
  }

  private HostCapabilities.Bandwidth bandwidth(String fingerprint) {
    Double known = measured.get(fingerprint);
    if (known != null) {
      return new HostCapabilities.Bandwidth(known, "measured");
    }
    OptionalDouble cached = cache.read(fingerprint);
    if (cached.isPresent()) {
      return new HostCapabilities.Bandwidth(cached.getAsDouble(), "cached");
    }
    if (!options.measureBandwidth()) {
      return new HostCapabilities.Bandwidth(HostProbe.Options.ASSUMED_BANDWIDTH, "assumed");
    }
    synchronized (measured) {
      known = measured.get(fingerprint);
      if (known == null) {
        double v = options.bandwidthMeter().getAsDouble();
        LOG.info(() -> String.format(Locale.ROOT, "measured memory bandwidth: %.1f GB/s (single-thread copy)", v / 1e9));
        cache.write(fingerprint, v, options.clock().instant());
        measured.put(fingerprint, v);
        known = v;
      }
    }
    return new HostCapabilities.Bandwidth(known, "measured");
  }

  /** Hardware identity: what the bandwidth and on-device measurements depend on. */
  static String fingerprint(String os, String arch, String model, Set<String> features, int cores, long totalMemory) {
    String text = os + "|" + arch + "|" + model + "|" + String.join(",", new TreeSet<>(features)) + "|" + cores + "|"
        + (totalMemory >> 28); // 256 MiB steps: MemTotal wobbles by a few pages across kernels
    try {
      byte[] h = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
      return HexFormat.of().formatHex(h, 0, 8);
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static String osName() {
    String n = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
    return n.startsWith("mac") ? "mac" : n.startsWith("windows") ? "windows" : n.isEmpty() ? "unknown" : n.split("\\s+")[0];
  }

  private static MemInfo jvmMemory() {
    if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
      return new MemInfo(os.getTotalMemorySize(), os.getFreeMemorySize());
    }
    return new MemInfo(0, 0);
  }

  /** The running ONNX Runtime: its version and the providers compiled into this build. */
  public static HostCapabilities.OnnxRuntimeInfo onnxRuntimeOfThisProcess() {
    HostCapabilities.OnnxRuntimeInfo info = ortOfThisProcess;
    if (info == null) {
      try {
        Set<String> providers = new TreeSet<>();
        for (OrtProvider p : OrtEnvironment.getAvailableProviders()) {
          providers.add(providerName(p.name()));
        }
        info = new HostCapabilities.OnnxRuntimeInfo(OrtEnvironment.getEnvironment().getVersion(), providers);
      } catch (RuntimeException | LinkageError e) {
        LOG.warning("ONNX Runtime is not usable in this process: " + e);
        info = new HostCapabilities.OnnxRuntimeInfo("unavailable", Set.of());
      }
      ortOfThisProcess = info;
    }
    return info;
  }

  /** {@link HostCapabilities#providerName}. */
  public static String providerName(String name) {
    return HostCapabilities.providerName(name);
  }

  /** Runs a vendor tool; empty when it is not installed, fails, or takes longer than the timeout. */
  public static Optional<String> runCommand(List<String> argv) {
    Path out = null;
    try {
      out = Files.createTempFile("edgelm-probe", ".out");
      Process p = new ProcessBuilder(argv).redirectErrorStream(false).redirectOutput(out.toFile())
          .redirectError(ProcessBuilder.Redirect.DISCARD).start();
      if (!p.waitFor(HostProbe.Options.COMMAND_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
        p.destroyForcibly();
        return Optional.empty();
      }
      return p.exitValue() == 0 ? Optional.of(Files.readString(out, StandardCharsets.UTF_8)) : Optional.empty();
    } catch (IOException e) {
      return Optional.empty(); // not installed
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return Optional.empty();
    } finally {
      if (out != null) {
        try {
          Files.deleteIfExists(out);
        } catch (IOException ignored) {
          // a temp file left behind
        }
      }
    }
  }

  public static double measureBandwidth() {
    return StreamingCopy.measure();
  }
}
