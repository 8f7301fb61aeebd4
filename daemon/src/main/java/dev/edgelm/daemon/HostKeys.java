package dev.edgelm.daemon;

import dev.edgelm.daemon.DaemonConfig.Host;
import dev.edgelm.proto.Units;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * The {@code host.*} keys: what the operator says about the host, overriding what {@link HostProbe} finds (each
 * override remembers where it was set, for the explanation of a selection), and where measurements are cached.
 *
 * <p>Package-private, part of {@link ConfigLoader}. Stateless.
 */
final class HostKeys {
  private HostKeys() {}

  /** Parses the {@code host.*} keys: overrides of probed facts. */
  static Host host(ConfigValues v, Map<String, String> env) {
    String arch = null;
    if (v.isSet("host.arch")) {
      arch = switch (v.string("host.arch").toLowerCase(Locale.ROOT)) {
        case "x86_64", "amd64" -> "x86_64";
        case "aarch64", "arm64" -> "aarch64";
        default -> throw v.invalid("host.arch", "must be x86_64 (amd64) or aarch64 (arm64)");
      };
    }
    Set<String> features = null;
    if (v.isSet("host.cpu_features") || v.string("host.cpu_features").equalsIgnoreCase("none")) {
      features = new java.util.TreeSet<>();
      for (String f : v.list("host.cpu_features")) {
        String n = f.toLowerCase(Locale.ROOT);
        if (n.equals("none")) {
          continue;
        }
        if (!n.matches("[a-z0-9_]+")) {
          throw v.invalid("host.cpu_features", "must be comma-separated feature names such as avx2,avx512_vnni (or none)");
        }
        features.add(n);
      }
    }
    Set<String> providers = null;
    if (v.isSet("host.execution_providers")) {
      providers = new java.util.TreeSet<>(List.of("cpu"));
      for (String p : v.list("host.execution_providers")) {
        if (!p.matches("[A-Za-z0-9_-]+")) {
          throw v.invalid("host.execution_providers", "must be comma-separated provider names such as cpu,cuda");
        }
        providers.add(HostCapabilities.providerName(p));
      }
    }
    String ort = null;
    if (v.isSet("host.onnxruntime_version")) {
      ort = v.string("host.onnxruntime_version");
      if (!ort.matches("\\d+(\\.\\d+){0,2}")) {
        throw v.invalid("host.onnxruntime_version", "must be a version such as 1.28.0");
      }
    }
    HostOverrides overrides = new HostOverrides(arch, features,
        v.isSet("host.cores") ? v.integer("host.cores", 1, 4096) : null,
        v.isSet("host.memory") ? ConfigLoader.sizeInRange(v, "host.memory", 1, Long.MAX_VALUE) : null,
        providers, ort,
        v.isSet("host.gpu_memory") ? ConfigLoader.sizeInRange(v, "host.gpu_memory", 1, Long.MAX_VALUE) : null,
        v.isSet("host.memory_bandwidth") ? (double) rate(v, "host.memory_bandwidth") : null,
        v.isSet("host.gpu_memory_bandwidth") ? (double) rate(v, "host.gpu_memory_bandwidth") : null,
        origins(v, "host."));
    Path cacheDir = v.path("host.cache_dir");
    if (cacheDir == null) {
      String xdg = env.get("XDG_CACHE_HOME");
      Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
      cacheDir = base.resolve("edgelm");
    }
    return new Host(overrides, v.bool("host.measure_bandwidth"), cacheDir);
  }

  /** Where each set key with this prefix came from ("flag", "file F", "environment V"). */
  private static Map<String, String> origins(ConfigValues v, String prefix) {
    Map<String, String> out = new java.util.LinkedHashMap<>();
    for (ConfigKeys.Key k : ConfigKeys.keys()) {
      if (k.name().startsWith(prefix) && v.isSet(k.name())) {
        out.put(k.name(), v.origin(k.name()));
      }
    }
    return out;
  }

  /** Bytes per second: a size with an optional "/s" (20GiB/s, 21474836480). */
  private static long rate(ConfigValues v, String key) {
    try {
      return Units.parseRate(v.string(key));
    } catch (RuntimeException e) {
      throw v.invalid(key, "must be bytes per second such as 20GiB/s or 21474836480");
    }
  }
}
