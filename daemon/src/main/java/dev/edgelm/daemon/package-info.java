/**
 * edgelmd, the edgelm daemon: serves model packages over gRPC from Vert.x.
 *
 * <p>Public API: {@link dev.edgelm.daemon.Daemon} (start, ports, readiness, drain), its
 * configuration {@link dev.edgelm.daemon.DaemonConfig} (loaded once from defaults, a YAML/JSON file,
 * {@code EDGELMD_*} environment variables and flags; {@link dev.edgelm.daemon.DaemonConfig#describe()}
 * lists every key), the command-line options shared by {@code edgelmd} and {@code edgelm serve}
 * ({@link dev.edgelm.daemon.ServeOptions}, entry point {@link dev.edgelm.daemon.Edgelmd}), the seams
 * tests and embedders replace ({@link dev.edgelm.daemon.DaemonRuntime}, {@link dev.edgelm.daemon.ModelLoader},
 * {@link dev.edgelm.daemon.ServableModel}), and the errors: {@link dev.edgelm.daemon.ConfigException}
 * at start, the sealed {@link dev.edgelm.daemon.ServingException} family while serving.
 *
 * <p>The implementation is in {@code dev.edgelm.daemon.internal}, which this package never refers to: the
 * entry points reach it through {@link dev.edgelm.daemon.DaemonProvider}, found with {@code ServiceLoader}.
 * Configuration loading and the one reader of environment variables ({@code Environment}) are
 * package-private here; exactly one internal class, {@code StatusMapper}, turns exceptions into gRPC
 * status codes.
 */
package dev.edgelm.daemon;
