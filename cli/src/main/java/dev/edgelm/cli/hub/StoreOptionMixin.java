package dev.edgelm.cli.hub;

import dev.edgelm.hub.HubOptions;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the local store is: the one option of the commands that only read or tidy the store (ls, rm, gc). */
public final class StoreOptionMixin {
  @Option(names = "--store", paramLabel = "DIR",
      description = "Local store (default: $EDGELM_STORE, else $XDG_DATA_HOME/edgelm/store, else ~/.local/share/edgelm/store).")
  Path store;

  /** The default hub options over this store. */
  HubOptions toOptions() {
    return HubOptions.defaults(storeDir());
  }

  Path storeDir() {
    if (store != null) {
      return store;
    }
    String env = System.getenv("EDGELM_STORE");
    if (env != null && !env.isBlank()) {
      return Path.of(env);
    }
    String xdg = System.getenv("XDG_DATA_HOME");
    Path base = xdg != null && !xdg.isBlank() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".local", "share");
    return base.resolve("edgelm").resolve("store");
  }
}
