package dev.edgelm.cli;

import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcClient;
import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.net.PemKeyCertOptions;
import io.vertx.core.net.PemTrustOptions;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcStatus;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Streams one generation from an edgelm daemon ({@code edgelm generate --remote}) with the Vert.x
 * gRPC client: API key in the metadata, optional TLS (and a client certificate for mutual TLS), a
 * deadline the server enforces, and retries while the daemon answers UNAVAILABLE (a model still
 * loading) for up to {@code wait}.
 *
 * <p>Not thread-safe; one instance per command run. Errors: {@link RemoteCallException} with the
 * daemon's status and message.
 */
final class RemoteGenerator implements AutoCloseable {
  /** Connection settings. {@code caFile}, {@code certFile} and {@code keyFile} are null unless given. */
  record Target(String host, int port, String apiKey, boolean tls, Path caFile, Path certFile, Path keyFile) {}

  /** A status other than OK from the daemon. */
  static final class RemoteCallException extends RuntimeException {
    private static final long serialVersionUID = 1L;
    final GrpcStatus status;

    RemoteCallException(GrpcStatus status, String message) {
      super(message, null, false, false);
      this.status = status;
    }
  }

  private final Target target;
  private final Vertx vertx;
  private final GrpcClient client;

  RemoteGenerator(Target target) {
    this.target = target;
    this.vertx = Vertx.vertx();
    HttpClientOptions http = new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false);
    if (target.tls()) {
      http.setSsl(true).setUseAlpn(true);
      if (target.caFile() != null) {
        http.setTrustOptions(new PemTrustOptions().addCertPath(target.caFile().toString()));
      }
      if (target.certFile() != null) {
        http.setKeyCertOptions(new PemKeyCertOptions().setCertPath(target.certFile().toString()).setKeyPath(target.keyFile().toString()));
      }
    }
    this.client = GrpcClient.client(vertx, new GrpcClientOptions().setScheduleDeadlineAutomatically(false), http);
  }

  /**
   * Streams {@code request}, handing each response to {@code onMessage} (on a Vert.x thread, in
   * order), and returns the last response.
   *
   * @param deadline the call's deadline, sent to the daemon (which ends the call with
   *     DEADLINE_EXCEEDED); null for none
   * @param wait how long to keep retrying while the daemon answers UNAVAILABLE before any message
   */
  GenerateResponse generate(GenerateRequest request, Duration deadline, Duration wait, Consumer<GenerateResponse> onMessage) {
    long giveUp = System.nanoTime() + wait.toNanos();
    long backoffMs = 200;
    while (true) {
      boolean[] received = {false};
      try {
        return await(call(request, deadline, r -> {
          received[0] = true;
          onMessage.accept(r);
        }), deadline);
      } catch (RemoteCallException e) {
        if (e.status != GrpcStatus.UNAVAILABLE || received[0] || System.nanoTime() + backoffMs * 1_000_000 > giveUp) {
          throw e;
        }
      }
      try {
        Thread.sleep(backoffMs); // waiting for a model to load on the daemon, not for a test
      } catch (InterruptedException ie) {
        Thread.currentThread().interrupt();
        throw new RemoteCallException(GrpcStatus.CANCELLED, "interrupted");
      }
      backoffMs = Math.min(backoffMs * 2, 2000);
    }
  }

  private Future<GenerateResponse> call(GenerateRequest request, Duration deadline, Consumer<GenerateResponse> onMessage) {
    Promise<GenerateResponse> last = Promise.promise();
    GenerateResponse[] latest = {null};
    client.request(SocketAddress.inetSocketAddress(target.port(), target.host()), GenerationGrpcClient.Generate).compose(req -> {
      if (target.apiKey() != null) {
        req.headers().set("authorization", "Bearer " + target.apiKey());
      }
      if (deadline != null) {
        req.timeout(Math.max(1, deadline.toMillis()), TimeUnit.MILLISECONDS);
      }
      req.end(request);
      return req.response();
    }).onComplete(ar -> {
      if (ar.failed()) {
        last.tryFail(connectionFailure(ar.cause()));
        return;
      }
      GrpcClientResponse<GenerateRequest, GenerateResponse> resp = ar.result();
      resp.handler(r -> {
        latest[0] = r;
        onMessage.accept(r);
      });
      resp.exceptionHandler(e -> last.tryFail(connectionFailure(e)));
      resp.endHandler(v -> {
        if (resp.status() == GrpcStatus.OK) {
          last.tryComplete(latest[0]);
        } else {
          last.tryFail(new RemoteCallException(resp.status(), statusMessage(resp)));
        }
      });
    });
    return last.future();
  }

  private RemoteCallException connectionFailure(Throwable e) {
    String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    return new RemoteCallException(GrpcStatus.UNAVAILABLE, "cannot reach the daemon at " + target.host() + ":" + target.port() + ": " + why);
  }

  private static String statusMessage(GrpcClientResponse<?, ?> resp) {
    String m = resp.statusMessage();
    if (m == null && resp.trailers() != null) {
      String raw = resp.trailers().get("grpc-message");
      m = raw == null ? null : URLDecoder.decode(raw.replace("+", "%2B"), StandardCharsets.UTF_8);
    }
    return m == null || m.isEmpty() ? "(no message)" : m;
  }

  private static <T> T await(Future<T> f, Duration deadline) {
    try {
      // The daemon enforces the deadline; the grace covers a daemon that stopped answering.
      long limit = deadline == null ? Long.MAX_VALUE : deadline.toMillis() + 30_000;
      return f.toCompletionStage().toCompletableFuture().get(limit, TimeUnit.MILLISECONDS);
    } catch (ExecutionException e) {
      if (e.getCause() instanceof RemoteCallException r) {
        throw r;
      }
      throw new RemoteCallException(GrpcStatus.UNKNOWN, String.valueOf(e.getCause().getMessage()));
    } catch (java.util.concurrent.TimeoutException e) {
      throw new RemoteCallException(GrpcStatus.DEADLINE_EXCEEDED, "the daemon did not answer within the deadline");
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new RemoteCallException(GrpcStatus.CANCELLED, "interrupted");
    }
  }

  @Override
  public void close() {
    try {
      client.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(5, TimeUnit.SECONDS);
    } catch (Exception e) {
      // Closing a client that is done: nothing to report.
    }
  }
}
