package dev.edgelm.cli.hub;

import dev.edgelm.cli.ExitCodes;
import dev.edgelm.hub.SigningKeys;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Path;
import java.security.KeyPair;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "keygen", description = {
    "Make an Ed25519 key pair for signing releases.",
    "PREFIX.key is the private key (PKCS#8 PEM, mode 600); PREFIX.pub the public key (X.509 PEM): give it to hosts as "
        + "--trusted-key."})
public final class KeygenCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--out", paramLabel = "PREFIX", defaultValue = "edgelm", description = "File name prefix (default: ${DEFAULT-VALUE}).")
  String prefix;

  @Override
  public Integer call() {
    Path priv = Path.of(prefix + ".key");
    Path pub = Path.of(prefix + ".pub");
    KeyPair kp = SigningKeys.generate();
    try {
      if (pub.toFile().exists()) {
        throw new FileAlreadyExistsException(pub.toString());
      }
      SigningKeys.writePrivateKey(kp.getPrivate(), priv);
      SigningKeys.writePublicKey(kp.getPublic(), pub);
    } catch (FileAlreadyExistsException e) {
      throw new IllegalArgumentException(e.getFile() + " already exists; choose another --out PREFIX or move it away");
    } catch (IOException e) {
      throw new UncheckedIOException("cannot write the key pair: " + e.getMessage(), e);
    }
    spec.commandLine().getErr().println("wrote " + priv + " (keep it secret) and " + pub + "; key id " + SigningKeys.keyId(kp.getPublic()));
    spec.commandLine().getErr().flush();
    spec.commandLine().getOut().println(SigningKeys.keyId(kp.getPublic()));
    spec.commandLine().getOut().flush();
    return ExitCodes.OK;
  }
}
