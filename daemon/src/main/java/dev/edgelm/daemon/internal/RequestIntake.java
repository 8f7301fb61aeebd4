package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.CapacityExceededException;
import dev.edgelm.proto.v1.GenerateRequest;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.InvalidMessageException;
import io.vertx.grpc.common.MessageSizeOverflowException;
import io.vertx.grpc.server.StatusException;

/**
 * The one request message of a {@link GrpcStream}, from the wire: decoded by the daemon ({@link RequestDecoder}), so
 * that one that does not parse, is too large, or never comes (the client half-closes first) ends the call with
 * INVALID_ARGUMENT or RESOURCE_EXHAUSTED through {@link GrpcStream#malformed}, counted and logged, rather than with
 * the reset vertx-grpc's typed handler would send. Only the first of these events counts.
 *
 * <p>Threading: confined to the call's context, like the call.
 */
final class RequestIntake {
  private final GrpcStream call;
  private final long maxRequestBytes;
  private boolean started;

  RequestIntake(GrpcStream call, long maxRequestBytes) {
    this.call = call;
    this.maxRequestBytes = maxRequestBytes;
  }

  /** The request message as it came off the wire. */
  void received(GrpcMessage message) {
    if (first()) { // a server-streaming call has one request message
      GenerateRequest decoded;
      try {
        decoded = RequestDecoder.decode(message, maxRequestBytes);
      } catch (BadRequestException | StatusException e) {
        call.malformed(e instanceof StatusException se ? se.message() : e.getMessage(), e);
        return;
      }
      call.start(decoded);
    }
  }

  /** The request message could not be read (too large, or not a GenerateRequest). */
  void invalidMessage(InvalidMessageException e) {
    if (first()) {
      call.malformed("the request message is larger than server.max_request_bytes", e instanceof MessageSizeOverflowException
          ? new CapacityExceededException("the request message is larger than server.max_request_bytes")
          : new BadRequestException("the request message is not a valid GenerateRequest"));
    }
  }

  /** The client half-closed; a call that never sent its request message is malformed. */
  void requestEnded() {
    if (first()) {
      call.malformed("the call carried no complete GenerateRequest message",
          new BadRequestException("the call carried no complete GenerateRequest message"));
    }
  }

  private boolean first() {
    if (started || call.finished()) {
      return false;
    }
    started = true;
    return true;
  }
}
