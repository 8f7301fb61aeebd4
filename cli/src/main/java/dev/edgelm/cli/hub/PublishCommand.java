package dev.edgelm.cli.hub;

import dev.edgelm.proto.Units;
import dev.edgelm.cli.ExitCodes;
import dev.edgelm.cli.InputFileException;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.PublishResult;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.SigningKeys;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.security.PrivateKey;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "publish", description = {
    "Publish model packages as one release: an OCI image index with one manifest per variant.",
    "REF is HOST[:PORT]/REPO:TAG for a registry or oci:PATH:TAG for a layout directory."})
public final class PublishCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(arity = "1..*", paramLabel = "DIR", description = "Model package directories (each with variant.json).")
  List<Path> packages;

  @Option(names = "--to", required = true, paramLabel = "REF", description = "Where to publish the release (a tag).")
  String to;

  @Option(names = "--sign", paramLabel = "KEY", description = "Sign the release with this PEM Ed25519 private key (see 'edgelm keygen').")
  Path signingKey;

  @Mixin StoreOptionMixin store;

  @Mixin RegistryOptionsMixin registry;

  @Override
  public Integer call() {
    Reference target = Reference.parse(to);
    PrivateKey key = null;
    if (signingKey != null) {
      try {
        key = SigningKeys.readPrivateKey(signingKey);
      } catch (IOException e) {
        throw InputFileException.of("--sign", signingKey, e);
      }
    }
    publish(spec, store, registry, packages, target, key);
    return ExitCodes.OK;
  }

  /**
   * Publishes {@code packages} as one release at {@code target} (signed when {@code key} is given, with a warning when
   * not), reporting progress and the variants on stderr and the release's reference on stdout. Shared with {@code
   * edgelm release}.
   */
  public static void publish(CommandSpec spec, StoreOptionMixin store, RegistryOptionsMixin registry, List<Path> packages,
      Reference target, PrivateKey key) {
    PrintWriter err = spec.commandLine().getErr();
    if (key == null) {
      err.println("edgelm: warning: publishing " + target + " unsigned: hosts that trust a key will refuse it; "
          + "sign with --sign KEY (make one with 'edgelm keygen')");
    }
    PublishResult r;
    try (Hub h = Hub.open(registry.applyTo(store.toOptions()))) {
      r = h.publish(packages, target, PublishOptions.DEFAULT.withSigningKey(key),
          new ProgressBar(err, System.console() != null, "publishing"));
    }
    for (Map.Entry<String, dev.edgelm.hub.Digest> v : r.variants().entrySet()) {
      err.println("  variant " + v.getKey() + "  " + v.getValue());
    }
    err.println("published " + r.variants().size() + (r.variants().size() == 1 ? " variant" : " variants") + " to " + target + " ("
        + Units.size(r.bytesUploaded()) + " uploaded, " + Units.size(r.bytesAlreadyPresent()) + " already there)"
        + (r.signatureKeyId() != null ? ", signed by " + r.signatureKeyId() : ""));
    err.flush();
    spec.commandLine().getOut().println(r.reference());
    spec.commandLine().getOut().flush();
  }
}
