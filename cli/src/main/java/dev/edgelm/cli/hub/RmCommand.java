package dev.edgelm.cli.hub;

import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.Reference;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "rm", description = "Forget a pulled release (as 'edgelm ls' names it); 'edgelm gc' then frees its files.")
public final class RmCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REF", description = "The reference it was pulled by.")
  String reference;

  @Mixin StoreOptionMixin store;

  @Override
  public Integer call() {
    Reference ref = Reference.parse(reference);
    boolean removed = false;
    if (store.readableStore()) {
      try (Hub h = Hub.open(store.toOptions())) {
        removed = h.store().remove(ref);
      }
    }
    if (!removed) {
      throw new IllegalArgumentException("the store holds no pull of " + ref + "; 'edgelm ls' lists what it holds");
    }
    spec.commandLine().getErr().println("forgot " + ref + "; run 'edgelm gc' to free its files");
    spec.commandLine().getErr().flush();
    return ExitCodes.OK;
  }
}
