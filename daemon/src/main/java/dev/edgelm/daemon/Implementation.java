package dev.edgelm.daemon;

import java.util.ServiceLoader;

/** The {@link DaemonProvider} on the class path, loaded once on first use. */
final class Implementation {
  private static final DaemonProvider PROVIDER = ServiceLoader.load(DaemonProvider.class, DaemonProvider.class.getClassLoader())
      .findFirst()
      .orElseThrow(() -> new IllegalStateException("no dev.edgelm.daemon.DaemonProvider on the class path: the daemon's jar lacks "
          + "META-INF/services/dev.edgelm.daemon.DaemonProvider; rebuild it (mvn -q -DskipTests package)"));

  private Implementation() {}

  static DaemonProvider provider() {
    return PROVIDER;
  }
}
