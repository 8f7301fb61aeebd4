/**
 * The daemon's implementation; not an API. Start reading at {@code DaemonServer} (wiring, drain),
 * then {@code GenerateCall} (one stream: admission, decode steps on workers, backpressure,
 * cancellation) and {@code ModelRegistry} (the Caffeine model cache).
 */
package dev.edgelm.daemon.internal;
