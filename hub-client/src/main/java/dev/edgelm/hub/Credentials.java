package dev.edgelm.hub;

import java.util.Optional;

/**
 * A user name and password (or token) for a registry. Used for HTTP basic auth, and to obtain Bearer
 * tokens from the registry's token service. {@link #toString()} never shows the secret.
 */
public record Credentials(String username, String password) {
  public Credentials {
    if (username == null || password == null) {
      throw new IllegalArgumentException("username and password are required");
    }
  }

  /** Supplies credentials per registry host ({@code host[:port]}). */
  @FunctionalInterface
  public interface Provider {
    /** No credentials for any registry (anonymous access). */
    Provider NONE = registry -> Optional.empty();

    Optional<Credentials> forRegistry(String authority);

    /** The same credentials for every registry. */
    static Provider of(Credentials credentials) {
      return registry -> Optional.of(credentials);
    }
  }

  @Override
  public String toString() {
    return "Credentials[" + username + ", ****]";
  }
}
