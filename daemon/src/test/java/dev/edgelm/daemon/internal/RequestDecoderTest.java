package dev.edgelm.daemon.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.proto.v1.GenerateRequest;
import io.vertx.core.buffer.Buffer;
import io.vertx.grpc.common.GrpcMessage;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.WireFormat;
import io.vertx.grpc.server.StatusException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class RequestDecoderTest {
  private static final GenerateRequest REQUEST = GenerateRequest.newBuilder().setModel("m").setPrompt("hello").setMaxTokens(3).build();

  private static GrpcMessage message(String encoding, byte[] payload) {
    return GrpcMessage.message(encoding, WireFormat.PROTOBUF, Buffer.buffer(payload));
  }

  private static byte[] gzip(byte[] b) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(b);
    }
    return out.toByteArray();
  }

  @Test
  void decode_identityAndGzip_giveTheRequest() throws IOException {
    assertEquals(REQUEST, RequestDecoder.decode(message("identity", REQUEST.toByteArray()), 1024));
    assertEquals(REQUEST, RequestDecoder.decode(message("gzip", gzip(REQUEST.toByteArray())), 1024));
  }

  @Test
  void decode_garbageOrInvalidUtf8_isABadRequestWithTheParserReason() {
    BadRequestException garbage = assertThrows(BadRequestException.class,
        () -> RequestDecoder.decode(message("identity", new byte[] {(byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF,
            (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 1}), 1024));
    assertTrue(garbage.getMessage().startsWith("the request message is not a valid GenerateRequest (") && garbage.getMessage().contains("varint"),
        garbage.getMessage());
    BadRequestException utf8 = assertThrows(BadRequestException.class,
        () -> RequestDecoder.decode(message("identity", new byte[] {0x12, 0x02, (byte) 0xC3, 0x28}), 1024));
    assertTrue(utf8.getMessage().contains("UTF-8"), utf8.getMessage());
  }

  @Test
  void decode_gzipThatInflatesPastTheLimit_isRefused() throws IOException {
    byte[] big = GenerateRequest.newBuilder().setModel("m").setPrompt("a".repeat(100_000)).build().toByteArray();
    byte[] small = gzip(big);
    assertTrue(small.length < 1024, "compresses to " + small.length);
    BadRequestException e = assertThrows(BadRequestException.class, () -> RequestDecoder.decode(message("gzip", small), 1024));
    assertTrue(e.getMessage().contains("server.max_request_bytes"), e.getMessage());
    assertThrows(BadRequestException.class, () -> RequestDecoder.decode(message("gzip", new byte[] {1, 2, 3}), 1024));
  }

  @Test
  void decode_otherEncoding_isUnimplemented() {
    StatusException e = assertThrows(StatusException.class, () -> RequestDecoder.decode(message("snappy", REQUEST.toByteArray()), 1024));
    assertEquals(GrpcStatus.UNIMPLEMENTED, e.status());
  }
}
