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
 * <p>Everything else is in {@code dev.edgelm.daemon.internal}; exactly one class there,
 * {@code StatusMapper}, turns exceptions into gRPC status codes, and one, {@code Environment},
 * reads environment variables.
 */
package dev.edgelm.daemon;
