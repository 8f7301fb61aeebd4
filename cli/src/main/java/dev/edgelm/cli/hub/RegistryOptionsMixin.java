package dev.edgelm.cli.hub;

import dev.edgelm.hub.Credentials;
import dev.edgelm.hub.HubOptions;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import picocli.CommandLine.Option;

/** How to reach a registry: transport and credentials (the commands that connect to one: publish, pull, select). */
public final class RegistryOptionsMixin {
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

  /** {@code options} with this transport and these credentials; throws IllegalArgumentException naming a bad flag. */
  public HubOptions applyTo(HubOptions options) {
    HubOptions o = options.withPlainHttp(plainHttp).withCaFile(caFile);
    Credentials creds = credentials();
    return creds == null ? o : o.withCredentials(Credentials.Provider.of(creds));
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
}
