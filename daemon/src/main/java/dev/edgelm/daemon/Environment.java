package dev.edgelm.daemon;

import java.util.Map;

/**
 * The only place in the daemon that reads environment variables. Configuration takes the snapshot
 * as a map ({@link dev.edgelm.daemon.DaemonConfig.ConfigSources}), so everything else, tests
 * included, sees the environment only through it. Variables read:
 *
 * <ul>
 *   <li>{@code EDGELMD_<SECTION>_<KEY>}: one per configuration key (see {@code --describe-config});
 *   <li>{@code XDG_DATA_HOME}: the default of {@code hub.store};
 *   <li>{@code XDG_CACHE_HOME}: the default of {@code host.cache_dir};
 *   <li>{@code EDGELMD_JAVA_OPTS}, {@code EDGELMD_NO_BUILD}: read by the {@code edgelmd} launcher script only.
 * </ul>
 */
final class Environment {
  private Environment() {}

  public static Map<String, String> snapshot() {
    return Map.copyOf(System.getenv());
  }
}
