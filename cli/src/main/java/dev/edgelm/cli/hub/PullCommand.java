package dev.edgelm.cli.hub;

import dev.edgelm.proto.Units;
import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.SignatureCheck;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "pull", description = {
    "Pull one variant of a release into the local store, verified, resuming any partial download.",
    "Prints the package directory on stdout."})
public final class PullCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REF", description = "HOST[:PORT]/REPO:TAG, HOST/REPO@sha256:..., or oci:PATH:TAG.")
  String reference;

  @Option(names = "--variant", paramLabel = "ID", description = "Variant id (e.g. int8); required when the release has several.")
  String variant;

  @Mixin HubOptionsMixin hub;

  @Override
  public Integer call() {
    Reference ref = Reference.parse(reference);
    PrintWriter err = spec.commandLine().getErr();
    InstalledVariant v;
    try (Hub h = Hub.open(hub.toOptions())) {
      ProgressBar bar = new ProgressBar(err, System.console() != null, "pulling");
      Release release = h.resolve(ref, bar);
      SignatureCheck sig = release.signature();
      if (sig.status() != SignatureCheck.Status.VERIFIED && sig.status() != SignatureCheck.Status.NOT_CHECKED) {
        err.println("edgelm: warning: " + sig.message());
      }
      if (variant == null && release.variants().size() > 1) {
        throw new IllegalArgumentException(ref + " has " + release.variants().size() + " variants ("
            + String.join(", ", release.variantIds()) + "); choose one with --variant ID");
      }
      v = h.pull(release, variant, bar);
    }
    err.println("pulled " + v.variantId() + " of " + ref + " (" + Units.size(v.bytesDownloaded()) + " downloaded, "
        + Units.size(v.bytesReused()) + " reused)");
    err.flush();
    spec.commandLine().getOut().println(v.packageDir());
    spec.commandLine().getOut().flush();
    return ExitCodes.OK;
  }
}
