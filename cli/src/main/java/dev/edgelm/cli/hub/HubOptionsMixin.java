package dev.edgelm.cli.hub;

import dev.edgelm.cli.InputFileException;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.SignaturePolicy;
import dev.edgelm.hub.SigningKeys;
import java.io.IOException;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Options of the commands that read releases from a hub (pull, select): the store, the registry, downloads and trust. */
public final class HubOptionsMixin {
  @Mixin StoreOptionMixin store;

  @Mixin RegistryOptionsMixin registry;

  @Option(names = "--offline", description = "Use only what the store holds; never connect to a registry.")
  boolean offline;

  @Option(names = "--limit-rate", paramLabel = "RATE", description = "Download bandwidth limit in bytes/s, with K, M or G suffixes (e.g. 5M).")
  String limitRate;

  @Option(names = "--verify", paramLabel = "POLICY",
      description = "Signature policy: require, warn or off (default: require when --trusted-key is given, else warn).")
  String verify;

  @Option(names = "--trusted-key", paramLabel = "FILE", description = "PEM Ed25519 public key to trust (repeatable).")
  List<Path> trustedKeys = new ArrayList<>();

  /** The hub options these flags describe; throws IllegalArgumentException naming a bad flag. */
  HubOptions toOptions() {
    List<PublicKey> keys = new ArrayList<>();
    for (Path k : trustedKeys) {
      try {
        keys.add(SigningKeys.readPublicKey(k));
      } catch (IOException e) {
        throw InputFileException.of("--trusted-key", k, e);
      }
    }
    SignaturePolicy policy = signaturePolicy(verify, !keys.isEmpty());
    HubOptions o = HubOptions.defaults(store.storeDir()).withSignatures(policy, keys).withOffline(offline);
    if (limitRate != null) {
      o = o.withBandwidthLimit(parseRate(limitRate));
    }
    return registry.applyTo(o);
  }

  Path storeDir() {
    return store.storeDir();
  }

  /** See {@link StoreOptionMixin#readableStore()}. */
  boolean readableStore() {
    return store.readableStore();
  }

  /**
   * The policy {@code --verify} names; without it, {@code require} once a key is trusted (a host that trusts a key
   * takes no unsigned release unless told to), else {@code warn}.
   */
  static SignaturePolicy signaturePolicy(String verify, boolean keysTrusted) {
    if (verify == null) {
      return keysTrusted ? SignaturePolicy.REQUIRE : SignaturePolicy.WARN;
    }
    SignaturePolicy policy;
    try {
      policy = SignaturePolicy.valueOf(verify.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--verify must be require, warn or off, not '" + verify + "'");
    }
    if (policy == SignaturePolicy.REQUIRE && !keysTrusted) {
      throw new IllegalArgumentException("--verify require needs at least one --trusted-key FILE");
    }
    return policy;
  }

  static long parseRate(String s) {
    String t = s.strip().toUpperCase(Locale.ROOT);
    long mult = 1;
    if (t.endsWith("B")) {
      t = t.substring(0, t.length() - 1);
    }
    if (t.endsWith("K")) {
      mult = 1L << 10;
    } else if (t.endsWith("M")) {
      mult = 1L << 20;
    } else if (t.endsWith("G")) {
      mult = 1L << 30;
    }
    if (mult > 1) {
      t = t.substring(0, t.length() - 1);
    }
    try {
      double v = Double.parseDouble(t);
      if (v <= 0) {
        throw new NumberFormatException();
      }
      return (long) (v * mult);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("--limit-rate must be a positive number of bytes/s such as 512K or 5M, not '" + s + "'");
    }
  }
}
