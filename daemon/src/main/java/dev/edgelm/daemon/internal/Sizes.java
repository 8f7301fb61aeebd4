package dev.edgelm.daemon.internal;

import dev.edgelm.proto.Units;

/** Human-readable byte counts for messages and logs: {@link Units#size}, under the name the daemon's internals use. */
public final class Sizes {
  private Sizes() {}

  public static String bytes(long b) {
    return Units.size(b);
  }
}
