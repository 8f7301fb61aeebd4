/**
 * The daemon's implementation; not an API. Start reading at {@code DaemonServer} (wiring, drain),
 * then {@code GenerationStream} (one stream's flow control, the same for every API: admission,
 * writes, cancellation; its worker side is {@code DecodeLoop}, its backpressure handshake
 * {@code SendWindow}, its wire format a {@code StreamSink}: {@code GrpcStream} for gRPC) and
 * {@code ModelRegistry} (names and lifecycle over {@code ModelCache} and {@code ModelLoads}). The API
 * reaches this package only through {@code InternalProvider}; everything here is package-private
 * unless {@code ArchitectureTest} lists it.
 */
package dev.edgelm.daemon.internal;
