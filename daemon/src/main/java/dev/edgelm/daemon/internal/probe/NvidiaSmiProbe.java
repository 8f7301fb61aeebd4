package dev.edgelm.daemon.internal.probe;

import dev.edgelm.daemon.HostCapabilities;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** NVIDIA GPUs through {@code nvidia-smi --query-gpu} (memory in MiB). */
final class NvidiaSmiProbe implements GpuProbe {
  static final List<String> COMMAND = List.of("nvidia-smi", "--query-gpu=name,memory.total,memory.free", "--format=csv,noheader,nounits");

  @Override
  public List<HostCapabilities.Gpu> probe(Function<List<String>, Optional<String>> commands) {
    return commands.apply(COMMAND).map(NvidiaSmiProbe::parse).orElse(List.of());
  }

  /** Lines like {@code NVIDIA A10G, 23028, 22515}. */
  static List<HostCapabilities.Gpu> parse(String csv) {
    List<HostCapabilities.Gpu> out = new ArrayList<>();
    for (String line : csv.split("\n")) {
      String[] f = line.split(",");
      if (f.length < 3) {
        continue;
      }
      try {
        long total = Long.parseLong(f[1].strip()) << 20;
        long free = Long.parseLong(f[2].strip()) << 20;
        out.add(new HostCapabilities.Gpu("nvidia", f[0].strip(), total, free, 0));
      } catch (NumberFormatException e) {
        // "[N/A]" on some boards: not a GPU we can size
      }
    }
    return out;
  }
}
