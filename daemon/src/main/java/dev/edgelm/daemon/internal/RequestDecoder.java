package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerationGrpcService;
import io.vertx.core.buffer.Buffer;
import io.vertx.grpc.common.CodecException;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.server.StatusException;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.zip.GZIPInputStream;

/**
 * Turns a Generate request message, as it came off the wire, into a {@link GenerateRequest}. The
 * daemon decodes it itself because vertx-grpc's typed handler answers a message that does not parse
 * by resetting the stream (RST_STREAM CANCEL) without telling the service. (grpc-java's server is no
 * better: its marshaller throws INTERNAL "Invalid protobuf byte sequence" and the call closes with
 * UNKNOWN "Application error processing RPC".) Here a bad message is the caller's fault:
 * {@link BadRequestException}, which the status mapper turns into INVALID_ARGUMENT.
 *
 * <p>Stateless and thread-safe.
 */
final class RequestDecoder {
  private RequestDecoder() {}

  /**
   * Decodes {@code message} (identity or gzip; protobuf or JSON as vertx-grpc framed it).
   *
   * @param maxBytes the most a gzip message may inflate to ({@code server.max_request_bytes})
   * @throws BadRequestException the message does not parse, is corrupt gzip, or inflates past {@code maxBytes}
   * @throws StatusException UNIMPLEMENTED for any other encoding
   */
  static GenerateRequest decode(GrpcMessage message, long maxBytes) {
    String encoding = message.encoding() == null ? "identity" : message.encoding();
    GrpcMessage plain = switch (encoding) {
      case "identity" -> message;
      case "gzip" -> GrpcMessage.message("identity", message.format(), gunzip(message.payload(), maxBytes));
      default -> throw new StatusException(GrpcStatus.UNIMPLEMENTED, "message encoding '" + encoding + "' is not supported; send identity or gzip");
    };
    try {
      return GenerationGrpcService.Generate.decoder().decode(plain);
    } catch (CodecException e) {
      Throwable c = e.getCause() != null ? e.getCause() : e;
      String detail = c.getMessage() == null ? c.getClass().getSimpleName() : c.getMessage().strip().replaceAll("\\s*\\R\\s*", " ");
      throw new BadRequestException("the request message is not a valid GenerateRequest (" + detail + ")");
    }
  }

  private static Buffer gunzip(Buffer payload, long maxBytes) {
    try (GZIPInputStream in = new GZIPInputStream(new ByteArrayInputStream(payload.getBytes()))) {
      byte[] out = in.readNBytes((int) Math.min(Integer.MAX_VALUE - 8, maxBytes + 1));
      if (out.length > maxBytes) {
        throw new BadRequestException("the gzip request message inflates past server.max_request_bytes (" + maxBytes + " bytes)");
      }
      return Buffer.buffer(out);
    } catch (IOException e) {
      throw new BadRequestException("the gzip request message is corrupt: " + e.getMessage());
    }
  }
}
