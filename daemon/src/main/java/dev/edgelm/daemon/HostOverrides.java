package dev.edgelm.daemon;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * Host facts an operator states instead of letting {@link HostProbe} find them: for fleets (every
 * host of a class told the same), for hosts whose probe is wrong, and for tests and {@code edgelm
 * select} simulations. Each null field is probed.
 *
 * <p>From configuration keys {@code host.*} ({@link DaemonConfig.Host}), whose origins (file,
 * environment variable, flag) explanations repeat.
 *
 * @param arch "x86_64" or "aarch64"
 * @param cpuFeatures replaces the probed feature set (canonical names, e.g. avx2, avx512_vnni, dotprod)
 * @param memoryBytes replaces the usable memory
 * @param executionProviders replaces the ONNX Runtime build's providers (e.g. cpu, cuda)
 * @param gpuMemoryBytes one GPU with this much free memory
 * @param memoryBandwidth bytes/s, replaces the measurement
 * @param gpuMemoryBandwidth bytes/s of GPU memory (not probed; {@value #DEFAULT_GPU_MEMORY_BANDWIDTH} assumed)
 * @param origins where each key's value came from, by key ({@code host.memory -> "flag"}); keys
 *     without an entry say "config"
 */
public record HostOverrides(
    String arch,
    Set<String> cpuFeatures,
    Integer cores,
    Long memoryBytes,
    Set<String> executionProviders,
    String onnxRuntimeVersion,
    Long gpuMemoryBytes,
    Double memoryBandwidth,
    Double gpuMemoryBandwidth,
    Map<String, String> origins) {

  /** GPU memory bandwidth assumed when none is configured: a mid-range discrete GPU. */
  public static final double DEFAULT_GPU_MEMORY_BANDWIDTH = 300e9;

  public static final HostOverrides NONE = new HostOverrides(null, null, null, null, null, null, null, null, null, Map.of());

  public HostOverrides {
    cpuFeatures = cpuFeatures == null ? null : Set.copyOf(new TreeSet<>(cpuFeatures));
    executionProviders = executionProviders == null ? null : Set.copyOf(new TreeSet<>(executionProviders));
    origins = origins == null ? Map.of() : Map.copyOf(origins);
  }

  /** Which facts are overridden, each with where it came from (e.g. {@code memory -> "file /etc/edgelm/edgelmd.yaml: host.memory"}). */
  public Map<String, String> describe() {
    Map<String, String> out = new LinkedHashMap<>();
    put(out, "arch", arch, "host.arch");
    put(out, "cpu_features", cpuFeatures, "host.cpu_features");
    put(out, "cores", cores, "host.cores");
    put(out, "memory", memoryBytes, "host.memory");
    put(out, "execution_providers", executionProviders, "host.execution_providers");
    put(out, "onnxruntime_version", onnxRuntimeVersion, "host.onnxruntime_version");
    put(out, "gpu_memory", gpuMemoryBytes, "host.gpu_memory");
    put(out, "memory_bandwidth", memoryBandwidth, "host.memory_bandwidth");
    put(out, "gpu_memory_bandwidth", gpuMemoryBandwidth, "host.gpu_memory_bandwidth");
    return out;
  }

  private void put(Map<String, String> out, String fact, Object value, String key) {
    if (value != null) {
      out.put(fact, origins.getOrDefault(key, "config") + ": " + key);
    }
  }

}
