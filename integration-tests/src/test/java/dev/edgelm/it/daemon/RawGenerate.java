package dev.edgelm.it.daemon;

import dev.edgelm.proto.v1.GenerateResponse;
import io.grpc.Channel;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.protobuf.ProtoUtils;
import io.grpc.stub.ClientCalls;
import io.grpc.stub.StreamObserver;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Iterator;
import java.util.concurrent.CompletableFuture;

/**
 * {@code edgelm.v1.Generation/Generate} through grpc-java with a request marshaller that sends the
 * bytes it is given as they are: malformed messages that no generated stub would write.
 */
final class RawGenerate {
  static final MethodDescriptor<byte[], GenerateResponse> METHOD = MethodDescriptor.<byte[], GenerateResponse>newBuilder()
      .setType(MethodDescriptor.MethodType.SERVER_STREAMING)
      .setFullMethodName("edgelm.v1.Generation/Generate")
      .setRequestMarshaller(new MethodDescriptor.Marshaller<>() {
        @Override
        public InputStream stream(byte[] value) {
          return new ByteArrayInputStream(value);
        }

        @Override
        public byte[] parse(InputStream stream) {
          try {
            return stream.readAllBytes();
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        }
      })
      .setResponseMarshaller(ProtoUtils.marshaller(GenerateResponse.getDefaultInstance()))
      .build();

  private RawGenerate() {}

  /** Not a protobuf message: a varint that never ends. */
  static byte[] garbage() {
    byte[] b = new byte[11];
    Arrays.fill(b, (byte) 0xFF);
    return b;
  }

  /** {@code valid}'s bytes followed by a prompt field (2) whose bytes are not UTF-8. */
  static byte[] invalidUtf8Prompt(byte[] valid) {
    byte[] bad = {0x12, 0x03, 'a', (byte) 0xC3, 0x28}; // field 2, length 3: "a", then a lead byte without its continuation
    byte[] out = Arrays.copyOf(valid, valid.length + bad.length);
    System.arraycopy(bad, 0, out, valid.length, bad.length);
    return out;
  }

  /** Sends {@code request} and returns the call's status once it ends (messages are dropped). */
  static Status call(Channel channel, byte[] request) {
    Iterator<GenerateResponse> it = ClientCalls.blockingServerStreamingCall(channel, METHOD, io.grpc.CallOptions.DEFAULT, request);
    try {
      while (it.hasNext()) {
        it.next();
      }
      return Status.OK;
    } catch (StatusRuntimeException e) {
      return e.getStatus();
    }
  }

  /** Starts {@code request}; the future completes with the call's status. */
  static CompletableFuture<Status> start(Channel channel, byte[] request) {
    CompletableFuture<Status> done = new CompletableFuture<>();
    ClientCalls.asyncServerStreamingCall(channel.newCall(METHOD, io.grpc.CallOptions.DEFAULT), request, new StreamObserver<>() {
      @Override
      public void onNext(GenerateResponse value) {}

      @Override
      public void onError(Throwable t) {
        done.complete(Status.fromThrowable(t));
      }

      @Override
      public void onCompleted() {
        done.complete(Status.OK);
      }
    });
    return done;
  }
}
