package dev.edgelm.cli.hub;

import dev.edgelm.hub.Credentials;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.SignaturePolicy;
import dev.edgelm.hub.SigningKeys;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Option;

/** Options every hub command shares: where the store is, how to reach and trust the hub. */
public final class HubOptionsMixin {
  @Option(names = "--store", paramLabel = "DIR",
      description = "Local store (default: $EDGELM_STORE, else $XDG_DATA_HOME/edgelm/store, else ~/.local/share/edgelm/store).")
  Path store;

  @Option(names = "--plain-http", description = "Use plain HTTP for the registry (always the case for loopback registries).")
  boolean plainHttp;

  @Option(names = "--ca-file", paramLabel = "FILE", description = "PEM file of extra CA certificates for HTTPS registries.")
  Path caFile;

  @Option(names = {"-u", "--username"}, paramLabel = "USER", description = "Registry user name.")
  String username;

  @Option(names = {"-p", "--password"}, paramLabel = "PASSWORD", description = "Registry password (prefer --password-stdin).")
  String password;

  @Option(names = "--password-stdin", description = "Read the registry password from standard input.")
  boolean passwordStdin;

  @Option(names = "--offline", description = "Use only what the store holds; never connect to a registry.")
  boolean offline;

  @Option(names = "--limit-rate", paramLabel = "RATE", description = "Download bandwidth limit in bytes/s, with K, M or G suffixes (e.g. 5M).")
  String limitRate;

  @Option(names = "--verify", paramLabel = "POLICY", defaultValue = "warn",
      description = "Signature policy: require, warn or off (default: ${DEFAULT-VALUE}).")
  String verify;

  @Option(names = "--trusted-key", paramLabel = "FILE", description = "PEM Ed25519 public key to trust (repeatable).")
  List<Path> trustedKeys = new ArrayList<>();

  /** The hub options these flags describe; throws IllegalArgumentException naming a bad flag. */
  HubOptions toOptions() {
    HubOptions o = HubOptions.defaults(storeDir());
    SignaturePolicy policy;
    try {
      policy = SignaturePolicy.valueOf(verify.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("--verify must be require, warn or off, not '" + verify + "'");
    }
    List<PublicKey> keys = new ArrayList<>();
    for (Path k : trustedKeys) {
      try {
        keys.add(SigningKeys.readPublicKey(k));
      } catch (IOException e) {
        throw new IllegalArgumentException("--trusted-key " + k + ": " + e.getMessage());
      }
    }
    if (policy == SignaturePolicy.REQUIRE && keys.isEmpty()) {
      throw new IllegalArgumentException("--verify require needs at least one --trusted-key FILE");
    }
    o = o.withSignatures(policy, keys).withOffline(offline).withPlainHttp(plainHttp).withCaFile(caFile);
    if (limitRate != null) {
      o = o.withBandwidthLimit(parseRate(limitRate));
    }
    Credentials creds = credentials();
    if (creds != null) {
      o = o.withCredentials(Credentials.Provider.of(creds));
    }
    return o;
  }

  /**
   * For commands that only read the store (ls, gc, rm, select, verify): whether it exists. A store
   * named by {@code --store} or {@code $EDGELM_STORE} that does not exist is a mistyped path, an
   * error ({@link dev.edgelm.cli.BadInputException}, exit 3); the default store may simply not exist
   * yet (false). Never creates anything.
   */
  boolean readableStore() {
    Path s = storeDir();
    if (Files.isDirectory(s)) {
      return true;
    }
    String named = store != null ? "--store" : isSet(System.getenv("EDGELM_STORE")) ? "$EDGELM_STORE" : null;
    if (Files.exists(s)) {
      throw new dev.edgelm.cli.BadInputException("the store " + s + (named != null ? " (" + named + ")" : "") + " is not a directory;"
          + " name a store directory");
    }
    if (named != null) {
      throw new dev.edgelm.cli.BadInputException("no store at " + s + " (" + named + "); check the path, or pull a release into it"
          + " first with 'edgelm pull REF --store " + s + "'");
    }
    return false;
  }

  private static boolean isSet(String v) {
    return v != null && !v.isBlank();
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

  private Credentials credentials() {
    if (passwordStdin && password != null) {
      throw new IllegalArgumentException("give either --password or --password-stdin, not both");
    }
    String pw = password;
    if (passwordStdin) {
      try {
        String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        pw = line == null ? "" : line.strip();
      } catch (IOException e) {
        throw new UncheckedIOException("cannot read the password from standard input", e);
      }
    }
    if (username == null) {
      if (pw != null) {
        throw new IllegalArgumentException("a password needs --username");
      }
      return null;
    }
    if (pw == null) {
      throw new IllegalArgumentException("--username needs --password-stdin (or --password)");
    }
    return new Credentials(username, pw);
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
