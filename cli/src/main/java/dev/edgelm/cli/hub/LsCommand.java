package dev.edgelm.cli.hub;

import dev.edgelm.proto.Units;
import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.StoredRelease;
import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "ls", description = "List the releases and variants the local store holds.")
public final class LsCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin StoreOptionMixin store;

  @Override
  public Integer call() {
    List<StoredRelease> releases = List.of();
    if (store.readableStore()) {
      try (Hub h = Hub.open(store.toOptions())) {
        releases = h.store().list();
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    if (releases.isEmpty()) {
      spec.commandLine().getErr().println("the store at " + store.storeDir() + " holds no releases; pull one with 'edgelm pull REF'");
      spec.commandLine().getErr().flush();
      return ExitCodes.OK;
    }
    out.printf("%-48s %-16s %10s  %-11s %s%n", "REFERENCE", "VARIANT", "SIZE", "SIGNATURE", "INDEX");
    for (StoredRelease r : releases) {
      for (StoredRelease.StoredVariant v : r.variants()) {
        out.printf("%-48s %-16s %10s  %-11s %s%n", r.reference(), v.id(), Units.size(v.bytes()),
            r.signature().name().toLowerCase(java.util.Locale.ROOT), r.indexDigest().toString().substring(0, 19));
      }
    }
    out.flush();
    return ExitCodes.OK;
  }
}
