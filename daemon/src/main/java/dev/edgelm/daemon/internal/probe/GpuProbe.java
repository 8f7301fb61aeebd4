package dev.edgelm.daemon.internal.probe;

import dev.edgelm.daemon.HostCapabilities;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * One GPU vendor's probe: asks the vendor's tool for each GPU's name and memory. A missing tool
 * means no GPU of that vendor (not an error).
 */
interface GpuProbe {
  List<HostCapabilities.Gpu> probe(Function<List<String>, Optional<String>> commands);

  /** Every vendor's probe, in the order they run. */
  List<GpuProbe> ALL = List.of(new NvidiaSmiProbe(), new RocmSmiProbe());
}
