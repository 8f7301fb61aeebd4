package dev.edgelm.daemon.testing;

import dev.edgelm.daemon.HostCapabilities;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Simulated hosts for selection tests: a builder over {@link HostCapabilities} with the facts a
 * profile varies (architecture, features, memory, bandwidth, ONNX Runtime, GPUs).
 */
public final class Hosts {
  private String arch = "x86_64";
  private Set<String> features = Set.of("sse4_2", "avx", "avx2", "fma");
  private int cores = 4;
  private long usable = 16L << 30;
  private long cgroupLimit;
  private long cgroupUsage;
  private double bandwidth = 20e9;
  private String ort = "1.28.0";
  private Set<String> providers = Set.of("cpu");
  private List<HostCapabilities.Gpu> gpus = List.of();

  /** Features of this machine's class: AVX-512 with VNNI. */
  public static final Set<String> AVX512_VNNI = Set.of("sse4_2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl", "avx512_vnni", "avx_vnni");
  public static final Set<String> AVX2 = Set.of("sse4_2", "avx", "avx2", "fma");

  public static Hosts x86(Set<String> features) {
    Hosts h = new Hosts();
    h.features = features;
    return h;
  }

  public static Hosts arm64(Set<String> features) {
    Hosts h = new Hosts();
    h.arch = "aarch64";
    h.features = features;
    h.bandwidth = 15e9;
    return h;
  }

  public Hosts memory(long usableBytes) {
    this.usable = usableBytes;
    return this;
  }

  public Hosts cgroup(long limit, long usage) {
    this.cgroupLimit = limit;
    this.cgroupUsage = usage;
    this.usable = Math.min(usable, limit - usage);
    return this;
  }

  public Hosts bandwidth(double bytesPerSecond) {
    this.bandwidth = bytesPerSecond;
    return this;
  }

  public Hosts onnxRuntime(String version, String... eps) {
    this.ort = version;
    this.providers = eps.length == 0 ? Set.of("cpu") : Set.of(eps);
    return this;
  }

  public Hosts gpu(long freeBytes) {
    this.gpus = List.of(new HostCapabilities.Gpu("nvidia", "simulated GPU", freeBytes, freeBytes, 0));
    return this;
  }

  public HostCapabilities build() {
    return new HostCapabilities("linux", arch, "simulated " + arch, features, cores, 0,
        new HostCapabilities.Memory(Math.max(usable, 32L << 30), usable + cgroupUsage, cgroupLimit, cgroupUsage, usable),
        new HostCapabilities.OnnxRuntimeInfo(ort, providers), gpus, new HostCapabilities.Bandwidth(bandwidth, "configured"), Map.of(),
        "sim-" + arch + "-" + features.hashCode());
  }
}
