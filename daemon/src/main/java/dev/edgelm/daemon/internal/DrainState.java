package dev.edgelm.daemon.internal;

/** Whether the daemon is draining (refusing new work). Thread-safe; one-way. */
final class DrainState {
  private volatile boolean draining;

  boolean draining() {
    return draining;
  }

  void start() {
    draining = true;
  }
}
