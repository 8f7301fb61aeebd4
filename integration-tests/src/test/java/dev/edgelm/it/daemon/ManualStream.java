package dev.edgelm.it.daemon;

import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpc;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

/**
 * A Generate call through grpc-java with manual inbound flow control: the test decides when each
 * message may be delivered ({@link #request}), as grpc-java's manual flow-control example does.
 * Messages not yet requested stay in the transport, whose window then closes on the server.
 */
final class ManualStream {
  final List<GenerateResponse> received = new CopyOnWriteArrayList<>();
  final CompletableFuture<Status> closed = new CompletableFuture<>();
  private final ClientCall<GenerateRequest, GenerateResponse> call;

  private ManualStream(ClientCall<GenerateRequest, GenerateResponse> call) {
    this.call = call;
  }

  static ManualStream start(Channel channel, CallOptions options, GenerateRequest request, Metadata headers, int initialRequest) {
    ManualStream s = new ManualStream(channel.newCall(GenerationGrpc.getGenerateMethod(), options));
    s.call.start(new ClientCall.Listener<>() {
      @Override
      public void onMessage(GenerateResponse message) {
        s.received.add(message);
      }

      @Override
      public void onClose(Status status, Metadata trailers) {
        s.closed.complete(status);
      }
    }, headers);
    s.call.sendMessage(request);
    s.call.halfClose();
    if (initialRequest > 0) {
      s.call.request(initialRequest);
    }
    return s;
  }

  void request(int n) {
    call.request(n);
  }

  void cancel() {
    call.cancel("the test cancels", null);
  }

  Status await() {
    return closed.orTimeout(Await.PATIENCE.toSeconds(), TimeUnit.SECONDS).join();
  }

  String text() {
    StringBuilder sb = new StringBuilder();
    received.forEach(r -> sb.append(r.getText()));
    return sb.toString();
  }

  GenerateResponse last() {
    return received.get(received.size() - 1);
  }
}
