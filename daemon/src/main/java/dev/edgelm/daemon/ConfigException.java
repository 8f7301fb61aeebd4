package dev.edgelm.daemon;

/**
 * The daemon's configuration is invalid. Thrown once, at start, before anything binds a port: the
 * message names the key, where its value came from (file, environment variable or flag) and what
 * is accepted.
 */
public final class ConfigException extends RuntimeException {
  private static final long serialVersionUID = 1L;

  private final String key;

  public ConfigException(String key, String message) {
    super(key == null ? message : "config key " + key + ": " + message);
    this.key = key;
  }

  /** The offending key (e.g. {@code server.grpc_port}), or null when the problem is not one key's (an unreadable file). */
  public String key() {
    return key;
  }
}
