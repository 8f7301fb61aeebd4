/**
 * The daemon's implementation; not an API. Start reading at {@code DaemonServer} (wiring, drain),
 * then {@code GenerateCall} (one stream's state machine: admission, writes, cancellation; its
 * worker side is {@code DecodeLoop}, its backpressure handshake {@code SendWindow}) and
 * {@code ModelRegistry} (the Caffeine model cache). The API reaches this package only through
 * {@code InternalProvider}; everything here is package-private unless {@code ArchitectureTest} lists it.
 */
package dev.edgelm.daemon.internal;
