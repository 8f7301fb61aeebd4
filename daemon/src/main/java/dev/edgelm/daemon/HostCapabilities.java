package dev.edgelm.daemon;

import dev.edgelm.proto.v1.GpuInfo;
import dev.edgelm.proto.v1.HostCapabilitiesInfo;
import dev.edgelm.proto.v1.MemoryInfo;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * What a host can do, as {@link HostProbe} found it (or as configuration says it is): CPU
 * architecture and features, cores, memory, the ONNX Runtime build and its execution providers,
 * GPUs, and memory bandwidth. Variant selection reads nothing else about the host.
 *
 * @param os "linux", "mac", "windows", … (lowercase)
 * @param arch "x86_64" or "aarch64" (other architectures as the JVM names them)
 * @param cpuFeatures canonical names of the features that matter to kernels (x86: {@code avx2}, {@code avx512f},
 *     {@code avx512_vnni}, {@code avx_vnni}, {@code amx_int8}…; arm64: {@code asimd}, {@code dotprod},
 *     {@code i8mm}, {@code sve}…)
 * @param cores CPUs this process may use (affinity and cgroup CPU quota applied)
 * @param cpuQuota the cgroup CPU quota in CPUs, 0 when there is none
 * @param gpus GPUs with their memory (probed with the vendor's tool, or configured)
 * @param overridden facts that were not probed, with where they came from (e.g. {@code memory ->
 *     "flag: host.memory"})
 * @param fingerprint stable id of the hardware (CPU model and features, cores, memory size): keys the
 *     bandwidth and on-device benchmark caches
 */
public record HostCapabilities(
    String os,
    String arch,
    String cpuModel,
    Set<String> cpuFeatures,
    int cores,
    double cpuQuota,
    Memory memory,
    OnnxRuntimeInfo onnxRuntime,
    List<Gpu> gpus,
    Bandwidth memoryBandwidth,
    Map<String, String> overridden,
    String fingerprint) {

  public HostCapabilities {
    Objects.requireNonNull(os, "os");
    Objects.requireNonNull(arch, "arch");
    Objects.requireNonNull(cpuModel, "cpuModel");
    cpuFeatures = Set.copyOf(new TreeSet<>(cpuFeatures));
    Objects.requireNonNull(memory, "memory");
    Objects.requireNonNull(onnxRuntime, "onnxRuntime");
    gpus = List.copyOf(gpus);
    Objects.requireNonNull(memoryBandwidth, "memoryBandwidth");
    overridden = Map.copyOf(overridden);
    Objects.requireNonNull(fingerprint, "fingerprint");
  }

  /**
   * Memory as the OS reports it.
   *
   * @param totalBytes MemTotal
   * @param availableBytes MemAvailable (what can be allocated without swapping)
   * @param cgroupLimitBytes the tightest cgroup memory limit of this process's cgroup and its
   *     ancestors, 0 when there is none
   * @param cgroupUsageBytes what the cgroup uses now (0 without a limit)
   * @param usableBytes what a model may use: min(available, limit − usage)
   */
  public record Memory(long totalBytes, long availableBytes, long cgroupLimitBytes, long cgroupUsageBytes, long usableBytes) {}

  /**
   * The ONNX Runtime build the daemon runs.
   *
   * @param executionProviders short lowercase names ({@code cpu}, {@code cuda}, {@code tensorrt},
   *     {@code rocm}, {@code coreml}, {@code nnapi}, …)
   */
  public record OnnxRuntimeInfo(String version, Set<String> executionProviders) {
    public OnnxRuntimeInfo {
      Objects.requireNonNull(version, "version");
      executionProviders = Set.copyOf(new TreeSet<>(executionProviders));
    }
  }

  /**
   * One GPU.
   *
   * @param vendor "nvidia", "amd" or "configured"
   * @param memoryBandwidthBytesPerSecond configured ({@code host.gpu_memory_bandwidth}); 0 when
   *     unknown (vendor tools do not report it)
   */
  public record Gpu(String vendor, String name, long memoryTotalBytes, long memoryFreeBytes, double memoryBandwidthBytesPerSecond) {}

  /**
   * Single-thread streaming-copy bandwidth (bytes read plus bytes written per second).
   *
   * @param source "measured", "cached" (measured earlier on this hardware), "configured" or "assumed"
   */
  public record Bandwidth(double bytesPerSecond, String source) {}

  /** Whether this host has every feature in {@code features}. */
  public boolean hasAll(java.util.Collection<String> features) {
    return cpuFeatures.containsAll(features);
  }

  /** The most free memory of any GPU, 0 without one. */
  public long gpuMemoryFreeBytes() {
    return gpus.stream().mapToLong(Gpu::memoryFreeBytes).max().orElse(0);
  }

  /**
   * Kubernetes node labels for these capabilities ({@code edgelm capabilities --labels},
   * {@code edgelmd --print-node-labels}): a fleet schedules and configures edgelmd per class of node
   * with them (see deploy/kubernetes).
   */
  public Map<String, String> nodeLabels() {
    Map<String, String> l = new java.util.LinkedHashMap<>();
    String p = "edgelm.dev/";
    l.put(p + "arch", arch.equals("x86_64") ? "amd64" : arch.equals("aarch64") ? "arm64" : arch);
    l.put(p + "cpu-avx2", Boolean.toString(cpuFeatures.contains("avx2")));
    l.put(p + "cpu-avx512", Boolean.toString(cpuFeatures.contains("avx512f")));
    l.put(p + "cpu-vnni", Boolean.toString(cpuFeatures.contains("avx512_vnni") || cpuFeatures.contains("avx_vnni")));
    l.put(p + "cpu-amx", Boolean.toString(cpuFeatures.contains("amx")));
    l.put(p + "cpu-dotprod", Boolean.toString(cpuFeatures.contains("dotprod")));
    l.put(p + "cpu-i8mm", Boolean.toString(cpuFeatures.contains("i8mm")));
    l.put(p + "gpu-cuda", Boolean.toString(onnxRuntime.executionProviders().contains("cuda") && !gpus.isEmpty()));
    long gib = memory.totalBytes() >> 30;
    l.put(p + "memory-class", gib < 4 ? "small" : gib < 16 ? "medium" : "large");
    return l;
  }

  /** The wire form ({@code edgelm capabilities --json}, Models.Describe). */
  public HostCapabilitiesInfo toProto() {
    HostCapabilitiesInfo.Builder b = HostCapabilitiesInfo.newBuilder()
        .setOs(os)
        .setArch(arch)
        .setCpuModel(cpuModel)
        .addAllCpuFeatures(new TreeSet<>(cpuFeatures))
        .setCores(cores)
        .setCpuQuota(cpuQuota)
        .setMemory(MemoryInfo.newBuilder()
            .setTotalBytes(memory.totalBytes())
            .setAvailableBytes(memory.availableBytes())
            .setCgroupLimitBytes(memory.cgroupLimitBytes())
            .setCgroupUsageBytes(memory.cgroupUsageBytes())
            .setUsableBytes(memory.usableBytes()))
        .setOnnxruntimeVersion(onnxRuntime.version())
        .addAllExecutionProviders(new TreeSet<>(onnxRuntime.executionProviders()))
        .setMemoryBandwidthBytesPerSecond(memoryBandwidth.bytesPerSecond())
        .setMemoryBandwidthSource(memoryBandwidth.source())
        .setFingerprint(fingerprint)
        .putAllOverridden(new TreeMap<>(overridden));
    for (Gpu g : gpus) {
      b.addGpus(GpuInfo.newBuilder().setVendor(g.vendor()).setName(g.name()).setMemoryTotalBytes(g.memoryTotalBytes())
          .setMemoryFreeBytes(g.memoryFreeBytes()).setMemoryBandwidthBytesPerSecond(g.memoryBandwidthBytesPerSecond()));
    }
    return b.build();
  }

  /**
   * Short lowercase name of an execution provider, however it is written: ONNX Runtime's
   * ({@code CUDAExecutionProvider}), the Java enum's ({@code TENSOR_RT}) or ours ({@code tensorrt}).
   */
  public static String providerName(String name) {
    String n = name.strip().toLowerCase(Locale.ROOT).replace("_", "").replace("-", "");
    if (n.endsWith("executionprovider")) {
      n = n.substring(0, n.length() - "executionprovider".length());
    }
    return switch (n) {
      case "trt" -> "tensorrt";
      case "dml" -> "directml";
      default -> n;
    };
  }
}
