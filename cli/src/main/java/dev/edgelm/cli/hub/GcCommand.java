package dev.edgelm.cli.hub;

import dev.edgelm.proto.Units;
import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.GcResult;
import dev.edgelm.hub.Hub;
import dev.edgelm.compressor.packaging.StagingDirectory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "gc", description = {
    "Remove blobs, packages and idle partial downloads no pulled release refers to.",
    "With --partials-in DIR, also remove the hidden .NAME.partial-* directories that an interrupted import, compress "
        + "or synth left in DIR (only those no running edgelm process still writes), and put back a package that a killed "
        + "--force left moved aside."})
public final class GcCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin StoreOptionMixin store;

  @Option(names = "--partials-in", paramLabel = "DIR",
      description = "A directory that import/compress/synth wrote into (the parent of their --out); repeatable.")
  List<Path> partialsIn = new ArrayList<>();

  @Override
  public Integer call() {
    if (store.readableStore()) {
      GcResult r;
      try (Hub h = Hub.open(store.toOptions())) {
        r = h.store().gc();
      }
      spec.commandLine().getOut().printf("removed %d blobs (%s), %d packages, %d partial downloads; kept %d blobs (%s)%n",
          r.blobsRemoved(), Units.size(r.bytesFreed()), r.packagesRemoved(), r.partialsRemoved(), r.blobsKept(), Units.size(r.bytesKept()));
    } else {
      spec.commandLine().getOut().println("no store at " + store.storeDir() + " yet: nothing to collect there");
    }
    for (Path dir : partialsIn) {
      if (!Files.isDirectory(dir)) {
        throw new IllegalArgumentException("--partials-in " + dir + " is not a directory; name the parent directory of an --out");
      }
      StagingDirectory.Swept s = StagingDirectory.sweep(dir.toAbsolutePath().normalize());
      spec.commandLine().getOut().printf("%s: removed %d stale partial directories (%s), restored %d packages, %d still being written%n",
          dir, s.removed().size(), Units.size(s.bytesFreed()), s.restored().size(), s.inUse().size());
      for (Path p : s.removed()) {
        spec.commandLine().getOut().println("  removed " + p.getFileName());
      }
      for (Path p : s.restored()) {
        spec.commandLine().getOut().println("  restored " + p.getFileName());
      }
    }
    spec.commandLine().getOut().flush();
    return ExitCodes.OK;
  }
}
