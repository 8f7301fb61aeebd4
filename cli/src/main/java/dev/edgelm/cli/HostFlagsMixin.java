package dev.edgelm.cli;

import dev.edgelm.daemon.DaemonConfig;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.Option;

/**
 * Flags that describe a host instead of (or on top of) probing this one, for {@code edgelm
 * capabilities} and {@code edgelm select}: each sets the daemon's {@code host.*} key of the same
 * meaning, so a simulation here is exactly what a daemon configured that way would see. With
 * {@code --config}, an {@code edgelmd} configuration file is read first (its {@code host.*},
 * {@code select.*}, {@code generation.*} and {@code cache.*} keys), and the flags win.
 */
public final class HostFlagsMixin {
  @Option(names = "--config", paramLabel = "FILE", description = "An edgelmd configuration file to take host.*, select.*, generation.* and cache.* keys from.")
  Path config;

  @Option(names = "--arch", paramLabel = "ARCH", description = "Simulate a CPU architecture: x86_64 or aarch64 (host.arch).")
  String arch;

  @Option(names = "--cpu-features", paramLabel = "LIST", description = "Simulate CPU features, e.g. avx2,avx512f or asimd,dotprod, or none (host.cpu_features).")
  String cpuFeatures;

  @Option(names = "--cores", paramLabel = "N", description = "Simulate this many CPUs (host.cores).")
  Integer cores;

  @Option(names = "--memory", paramLabel = "SIZE", description = "Simulate this much usable memory, e.g. 2GiB (host.memory).")
  String memory;

  @Option(names = "--providers", paramLabel = "LIST", description = "Simulate ONNX Runtime execution providers, e.g. cpu,cuda (host.execution_providers).")
  String providers;

  @Option(names = "--onnxruntime-version", paramLabel = "V", description = "Simulate an ONNX Runtime version, e.g. 1.17.0 (host.onnxruntime_version).")
  String onnxRuntimeVersion;

  @Option(names = "--gpu-memory", paramLabel = "SIZE", description = "Simulate one GPU with this much free memory, e.g. 8GiB (host.gpu_memory).")
  String gpuMemory;

  @Option(names = "--bandwidth", paramLabel = "RATE", description = "Use this memory bandwidth instead of measuring, e.g. 20GiB/s (host.memory_bandwidth).")
  String bandwidth;

  @Option(names = "--gpu-bandwidth", paramLabel = "RATE", description = "GPU memory bandwidth, e.g. 900GiB/s (host.gpu_memory_bandwidth).")
  String gpuBandwidth;

  @Option(names = "--no-measure", description = "Do not measure memory bandwidth (use a cached figure, else assume 10 GB/s).")
  boolean noMeasure;

  @Option(names = "--cache-dir", paramLabel = "DIR", description = "Where the bandwidth measurement is cached (host.cache_dir; default $XDG_CACHE_HOME/edgelm).")
  Path cacheDir;

  /** The {@code host.*} keys these flags set. */
  public Map<String, String> keys() {
    Map<String, String> k = new LinkedHashMap<>();
    put(k, "host.arch", arch);
    put(k, "host.cpu_features", cpuFeatures);
    put(k, "host.cores", cores);
    put(k, "host.memory", memory);
    put(k, "host.execution_providers", providers);
    put(k, "host.onnxruntime_version", onnxRuntimeVersion);
    put(k, "host.gpu_memory", gpuMemory);
    put(k, "host.memory_bandwidth", bandwidth);
    put(k, "host.gpu_memory_bandwidth", gpuBandwidth);
    put(k, "host.cache_dir", cacheDir);
    if (noMeasure) {
      k.put("host.measure_bandwidth", "false");
    }
    return k;
  }

  private static void put(Map<String, String> k, String key, Object value) {
    if (value != null) {
      k.put(key, value.toString());
    }
  }

  /**
   * The daemon configuration these flags (and {@code extra} keys) describe, validated as the daemon
   * validates it.
   *
   * @throws dev.edgelm.daemon.ConfigException naming the key of a bad value
   */
  public DaemonConfig load(Map<String, String> extra) {
    Map<String, String> flags = new LinkedHashMap<>(keys());
    flags.putAll(extra);
    Map<String, String> env = new LinkedHashMap<>();
    for (String var : new String[] {"XDG_CACHE_HOME", "XDG_DATA_HOME"}) {
      String v = System.getenv(var);
      if (v != null) {
        env.put(var, v);
      }
    }
    return DaemonConfig.load(new DaemonConfig.ConfigSources(config, env, flags));
  }
}
