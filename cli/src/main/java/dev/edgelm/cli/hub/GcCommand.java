package dev.edgelm.cli.hub;

import dev.edgelm.cli.Bytes;
import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.GcResult;
import dev.edgelm.hub.Hub;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "gc", description = "Remove blobs, packages and idle partial downloads no pulled release refers to.")
public final class GcCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Mixin HubOptionsMixin hub;

  @Override
  public Integer call() {
    GcResult r;
    try (Hub h = Hub.open(hub.toOptions())) {
      r = h.store().gc();
    }
    spec.commandLine().getOut().printf("removed %d blobs (%s), %d packages, %d partial downloads; kept %d blobs (%s)%n",
        r.blobsRemoved(), Bytes.size(r.bytesFreed()), r.packagesRemoved(), r.partialsRemoved(), r.blobsKept(), Bytes.size(r.bytesKept()));
    spec.commandLine().getOut().flush();
    return ExitCodes.OK;
  }
}
