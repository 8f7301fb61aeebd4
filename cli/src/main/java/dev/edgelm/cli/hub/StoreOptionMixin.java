package dev.edgelm.cli.hub;

import dev.edgelm.cli.InputFileException;
import dev.edgelm.hub.HubOptions;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** Where the local store is: the one option of the commands that only read or tidy the store (ls, rm, gc). */
public final class StoreOptionMixin {
  @Option(names = "--store", paramLabel = "DIR",
      description = "Local store (default: $EDGELM_STORE, else $XDG_DATA_HOME/edgelm/store, else ~/.local/share/edgelm/store).")
  Path store;

  /** The default hub options over this store. */
  public HubOptions toOptions() {
    return HubOptions.defaults(storeDir());
  }

  /**
   * For commands that only read the store (ls, gc, rm, select, verify): whether it exists. A store named by
   * {@code --store} or {@code $EDGELM_STORE} that does not exist is a mistyped path, an error
   * ({@link InputFileException}, exit 3); the default store may simply not exist yet (false). Never creates anything.
   */
  boolean readableStore() {
    Path s = storeDir();
    if (Files.isDirectory(s)) {
      return true;
    }
    String env = System.getenv("EDGELM_STORE");
    String named = store != null ? "--store" : env != null && !env.isBlank() ? "$EDGELM_STORE" : null;
    if (Files.exists(s)) {
      throw new InputFileException("the store " + s + (named != null ? " (" + named + ")" : "") + " is not a directory;"
          + " name a store directory");
    }
    if (named != null) {
      throw new InputFileException("no store at " + s + " (" + named + "); check the path, or pull a release into it"
          + " first with 'edgelm pull REF --store " + s + "'");
    }
    return false;
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
