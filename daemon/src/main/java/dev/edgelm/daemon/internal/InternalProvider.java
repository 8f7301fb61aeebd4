package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Daemon;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.DaemonProvider;
import dev.edgelm.daemon.DaemonRuntime;
import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostProbe;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.daemon.internal.probe.SystemHostProbe;
import dev.edgelm.daemon.internal.select.DefaultVariantSelector;
import java.util.List;
import java.util.Optional;

/**
 * The daemon's implementation of the API's entry points, registered for {@link java.util.ServiceLoader} in {@code
 * META-INF/services/dev.edgelm.daemon.DaemonProvider}: the one class of this package the API reaches. Stateless.
 */
public final class InternalProvider implements DaemonProvider {
  @Override
  public Daemon start(DaemonConfig config, DaemonRuntime runtime) {
    return DaemonServer.start(config, runtime);
  }

  @Override
  public HostProbe hostProbe(HostProbe.Options options) {
    return new SystemHostProbe(options);
  }

  @Override
  public HostCapabilities.OnnxRuntimeInfo onnxRuntimeOfThisProcess() {
    return SystemHostProbe.onnxRuntimeOfThisProcess();
  }

  @Override
  public Optional<String> runCommand(List<String> argv) {
    return SystemHostProbe.runCommand(argv);
  }

  @Override
  public double measureBandwidth() {
    return SystemHostProbe.measureBandwidth();
  }

  @Override
  public VariantSelector variantSelector(VariantSelector.Options options) {
    return new DefaultVariantSelector(options);
  }
}
