package dev.edgelm.daemon;

import java.util.List;
import java.util.Optional;

/**
 * How the API reaches the daemon's implementation without depending on it: {@link Daemon#start}, {@link
 * HostProbe#create}, {@link HostProbe.Options#system} and {@link VariantSelector#create} call the one provider on the
 * class path, found with {@link java.util.ServiceLoader} (as grpc-java finds its {@code ServerProvider}). The daemon's jar
 * registers it ({@code META-INF/services/dev.edgelm.daemon.DaemonProvider}); applications do not implement this.
 *
 * <p>Threading: implementations are thread-safe. The API loads the provider once, on first use.
 */
public interface DaemonProvider {
  /** Binds the ports and starts serving (see {@link Daemon#start(DaemonConfig, DaemonRuntime)}). */
  Daemon start(DaemonConfig config, DaemonRuntime runtime);

  /** A probe of the host {@code options} describe. */
  HostProbe hostProbe(HostProbe.Options options);

  /** The ONNX Runtime build this process runs. */
  HostCapabilities.OnnxRuntimeInfo onnxRuntimeOfThisProcess();

  /** Runs a vendor tool with {@link HostProbe.Options#COMMAND_TIMEOUT}: its standard output, or empty when it is missing or fails. */
  Optional<String> runCommand(List<String> argv);

  /** Measures memory bandwidth in bytes/s. */
  double measureBandwidth();

  /** The default variant selector. */
  VariantSelector variantSelector(VariantSelector.Options options);
}
