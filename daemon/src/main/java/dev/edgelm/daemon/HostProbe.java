package dev.edgelm.daemon;

import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.DoubleSupplier;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * Finds out what this host can do ({@link HostCapabilities}): one probe per source, as the OS and
 * the vendors' tools report it.
 *
 * <ul>
 *   <li>CPU architecture, model and features: {@code /proc/cpuinfo} ({@code flags} on x86,
 *       {@code Features} on arm64); elsewhere the JVM's architecture and no features.
 *   <li>Cores: the JVM's available processors (affinity), capped by the cgroup CPU quota (v2
 *       {@code cpu.max}, v1 {@code cpu.cfs_quota_us}/{@code cpu.cfs_period_us}).
 *   <li>Memory: {@code /proc/meminfo} MemTotal and MemAvailable, and the tightest cgroup limit of
 *       this process's cgroup and its ancestors (v2 {@code memory.max}, v1
 *       {@code memory.limit_in_bytes}) less what the cgroup uses.
 *   <li>ONNX Runtime: its version and the execution providers compiled into the running build.
 *   <li>GPUs: {@code nvidia-smi} and {@code rocm-smi} when present.
 *   <li>Memory bandwidth: a short single-thread streaming copy (a few hundred milliseconds), cached
 *       on disk per hardware fingerprint so a host measures once.
 * </ul>
 *
 * <p>Every fact can be overridden ({@link HostOverrides}). {@link #probe()} re-reads the dynamic facts
 * (available memory) each time; the measurement is made once per process and fingerprint.
 *
 * <p>Threading: implementations are thread-safe. {@link #probe()} blocks (file reads, the first
 * bandwidth measurement, vendor tools with a timeout); call it off event loops. It does not throw
 * for a missing source: what cannot be read is reported as unknown (0, empty) or assumed.
 */
@FunctionalInterface
public interface HostProbe {
  HostCapabilities probe();

  /** A probe of this host (or of the files under {@code options.root()}, for tests). */
  static HostProbe create(Options options) {
    return Implementation.provider().hostProbe(options);
  }

  /** A probe that always answers {@code host} (tests, simulations). */
  static HostProbe fixed(HostCapabilities host) {
    Objects.requireNonNull(host, "host");
    return () -> host;
  }

  /**
   * Where a probe looks, and its seams.
   *
   * @param root the file-system root holding {@code proc/} and {@code sys/fs/cgroup/} ("/" on a host;
   *     a fake tree in tests)
   * @param cacheDir where measurements are cached ({@code host.cache_dir}), or null for no disk cache
   * @param measureBandwidth measure when no override or cached figure exists; otherwise assume
   *     {@link #ASSUMED_BANDWIDTH}
   * @param availableProcessors CPUs the process may use before the cgroup quota (the JVM's by default)
   * @param onnxRuntime the ONNX Runtime build's facts
   * @param commands runs a vendor tool (argv) with a timeout, answering its standard output, or empty
   *     when it is missing or fails
   * @param bandwidthMeter measures bandwidth in bytes/s (a streaming copy by default)
   */
  record Options(
      Path root,
      Path cacheDir,
      boolean measureBandwidth,
      HostOverrides overrides,
      int availableProcessors,
      Supplier<HostCapabilities.OnnxRuntimeInfo> onnxRuntime,
      Function<List<String>, Optional<String>> commands,
      DoubleSupplier bandwidthMeter,
      Clock clock) {

    /** Bandwidth assumed when it is neither measured, cached nor configured: a modest edge board. */
    public static final double ASSUMED_BANDWIDTH = 10e9;
    /** How long a vendor tool may take. */
    public static final Duration COMMAND_TIMEOUT = Duration.ofSeconds(5);

    public Options {
      Objects.requireNonNull(root, "root");
      Objects.requireNonNull(overrides, "overrides");
      Objects.requireNonNull(onnxRuntime, "onnxRuntime");
      Objects.requireNonNull(commands, "commands");
      Objects.requireNonNull(bandwidthMeter, "bandwidthMeter");
      Objects.requireNonNull(clock, "clock");
      if (availableProcessors < 1) {
        throw new IllegalArgumentException("availableProcessors must be >= 1");
      }
    }

    /** This host: the real root, a cache in {@code cacheDir}, the running ONNX Runtime, real tools. */
    public static Options system(Path cacheDir, HostOverrides overrides) {
      return new Options(Path.of("/"), cacheDir, true, overrides, java.lang.Runtime.getRuntime().availableProcessors(),
          () -> Implementation.provider().onnxRuntimeOfThisProcess(), argv -> Implementation.provider().runCommand(argv),
          () -> Implementation.provider().measureBandwidth(),
          Clock.systemUTC());
    }

    public Options withRoot(Path r) {
      return new Options(r, cacheDir, measureBandwidth, overrides, availableProcessors, onnxRuntime, commands, bandwidthMeter, clock);
    }

    public Options withMeasureBandwidth(boolean m) {
      return new Options(root, cacheDir, m, overrides, availableProcessors, onnxRuntime, commands, bandwidthMeter, clock);
    }

    public Options withAvailableProcessors(int n) {
      return new Options(root, cacheDir, measureBandwidth, overrides, n, onnxRuntime, commands, bandwidthMeter, clock);
    }

    public Options withOnnxRuntime(Supplier<HostCapabilities.OnnxRuntimeInfo> ort) {
      return new Options(root, cacheDir, measureBandwidth, overrides, availableProcessors, ort, commands, bandwidthMeter, clock);
    }

    public Options withCommands(Function<List<String>, Optional<String>> c) {
      return new Options(root, cacheDir, measureBandwidth, overrides, availableProcessors, onnxRuntime, c, bandwidthMeter, clock);
    }

    public Options withBandwidthMeter(DoubleSupplier m) {
      return new Options(root, cacheDir, measureBandwidth, overrides, availableProcessors, onnxRuntime, commands, m, clock);
    }

    public Options withOverrides(HostOverrides o) {
      return new Options(root, cacheDir, measureBandwidth, o, availableProcessors, onnxRuntime, commands, bandwidthMeter, clock);
    }
  }
}
