package dev.edgelm.daemon.testing;

import com.google.protobuf.Message;
import dev.edgelm.daemon.Daemon;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.DaemonRuntime;
import dev.edgelm.proto.v1.GenerateRequest;
import dev.edgelm.proto.v1.GenerateResponse;
import dev.edgelm.proto.v1.GenerationGrpcClient;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.Http2Settings;
import io.vertx.core.http.HttpClientAgent;
import io.vertx.core.http.HttpClientOptions;
import io.vertx.core.http.HttpClientRequest;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpVersion;
import io.vertx.core.http.RequestOptions;
import io.vertx.core.http.StreamResetException;
import io.vertx.core.net.SocketAddress;
import io.vertx.grpc.client.GrpcClient;
import io.vertx.grpc.client.GrpcClientOptions;
import io.vertx.grpc.client.GrpcClientRequest;
import io.vertx.grpc.client.GrpcClientResponse;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import java.io.IOException;
import java.net.URI;
import java.net.URLDecoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * An in-process daemon on loopback ports picked by the OS, with a Vert.x gRPC client, unary and
 * streaming call helpers, and a Prometheus scrape reader. The client's HTTP/2 receive window is
 * small (2 KiB) so that a paused reader pushes back on the server after a few dozen messages.
 */
public final class TestDaemon implements AutoCloseable {
  public final Daemon daemon;
  private final Vertx vertx;
  private final GrpcClient client;
  private final HttpClientAgent raw;
  private final HttpClient http = HttpClient.newHttpClient();

  private TestDaemon(Daemon daemon) {
    this.daemon = daemon;
    this.vertx = Vertx.vertx();
    HttpClientOptions h = new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false)
        .setInitialSettings(new Http2Settings().setInitialWindowSize(2048)).setHttp2ConnectionWindowSize(2048);
    this.client = GrpcClient.client(vertx, new GrpcClientOptions(), h);
    this.raw = vertx.createHttpClient(new HttpClientOptions().setProtocolVersion(HttpVersion.HTTP_2).setHttp2ClearTextUpgrade(false));
  }

  /** Starts a daemon with {@code flags} (ports and host are set here) and the fake loader. */
  public static TestDaemon start(FakeModelLoader loader, Map<String, String> flags) {
    return start(DaemonRuntime.DEFAULTS.withLoader(loader), flags);
  }

  public static TestDaemon start(DaemonRuntime runtime, Map<String, String> flags) {
    Map<String, String> all = new LinkedHashMap<>();
    all.put("server.grpc_port", "0");
    all.put("server.http_port", "0");
    all.put("server.drain_timeout", "30s");
    all.put("host.measure_bandwidth", "false"); // no 100 MiB copy per test; tests that rank variants inject a host probe
    all.putAll(flags);
    return new TestDaemon(Daemon.start(DaemonConfig.load(DaemonConfig.ConfigSources.ofFlags(all)), runtime));
  }

  public SocketAddress address() {
    return SocketAddress.inetSocketAddress(daemon.grpcPort(), "127.0.0.1");
  }

  /** The outcome of a call: its status and message. */
  public record Status(GrpcStatus status, String message) {}

  /** A Generate stream in progress. */
  public final class Stream {
    public final List<GenerateResponse> messages = new CopyOnWriteArrayList<>();
    public final CompletableFuture<Status> done = new CompletableFuture<>();
    private final CompletableFuture<GrpcClientRequest<GenerateRequest, GenerateResponse>> request = new CompletableFuture<>();
    private final CompletableFuture<GrpcClientResponse<GenerateRequest, GenerateResponse>> response = new CompletableFuture<>();

    /** Stops reading (the client buffers a little, then its HTTP/2 window closes). */
    public void pause() {
      response.join().pause();
    }

    public void resume() {
      response.join().resume();
    }

    /** Resets the stream (RST_STREAM CANCEL), as a client cancel does. */
    public void cancel() {
      request.join().cancel();
    }

    public Status await() {
      return done.orTimeout(Awaits.PATIENCE.toSeconds(), TimeUnit.SECONDS).join();
    }

    public String text() {
      StringBuilder s = new StringBuilder();
      messages.forEach(m -> s.append(m.getText()));
      return s.toString();
    }

    public GenerateResponse last() {
      return messages.get(messages.size() - 1);
    }
  }

  public Stream generate(GenerateRequest r) {
    return generate(r, Map.of(), 0);
  }

  /** Starts a Generate call with extra metadata and a deadline in ms (0 = none) that only the server enforces. */
  public Stream generate(GenerateRequest r, Map<String, String> headers, long timeoutMs) {
    Stream s = new Stream();
    client.request(address(), GenerationGrpcClient.Generate).onComplete(ar -> {
      if (ar.failed()) {
        s.done.completeExceptionally(ar.cause());
        return;
      }
      GrpcClientRequest<GenerateRequest, GenerateResponse> req = ar.result();
      headers.forEach((k, v) -> req.headers().set(k, v));
      if (timeoutMs > 0) {
        req.timeout(timeoutMs, TimeUnit.MILLISECONDS);
      }
      s.request.complete(req);
      req.end(r);
      req.response().onComplete(rr -> {
        if (rr.failed()) {
          s.done.complete(new Status(GrpcStatus.CANCELLED, String.valueOf(rr.cause())));
          return;
        }
        GrpcClientResponse<GenerateRequest, GenerateResponse> resp = rr.result();
        s.response.complete(resp);
        resp.handler(s.messages::add);
        resp.errorHandler(e -> s.done.complete(new Status(GrpcStatus.CANCELLED, "error " + e)));
        resp.exceptionHandler(e -> s.done.complete(new Status(GrpcStatus.UNAVAILABLE, String.valueOf(e))));
        resp.endHandler(v -> s.done.complete(new Status(resp.status(), message(resp))));
      });
    });
    return s;
  }

  /**
   * A Generate call whose request body is written byte for byte over HTTP/2 (no gRPC encoder): for
   * malformed messages, partial frames and resets at any point. Its status is what the daemon's
   * trailers say, or {@code CANCELLED} with a message starting "reset" when the daemon reset the stream.
   */
  public final class RawCall {
    public final CompletableFuture<Status> done = new CompletableFuture<>();
    private final CompletableFuture<HttpClientRequest> request = new CompletableFuture<>();

    /** Writes more of the request body; {@code end} half-closes. */
    public void write(Buffer bytes, boolean end) {
      HttpClientRequest r = request.join();
      if (end) {
        r.end(bytes);
      } else {
        r.write(bytes);
      }
    }

    /** Resets the stream (RST_STREAM CANCEL), as a client cancel does. */
    public void reset() {
      request.join().reset(8);
    }

    public Status await() {
      return done.orTimeout(Awaits.PATIENCE.toSeconds(), TimeUnit.SECONDS).join();
    }
  }

  /** Opens a Generate call and sends its headers; the body is written with {@link RawCall#write}. */
  public RawCall rawGenerate() {
    return rawGenerate(Map.of());
  }

  /** {@link #rawGenerate()} with extra request headers (e.g. {@code grpc-timeout}). */
  public RawCall rawGenerate(Map<String, String> headers) {
    RawCall call = new RawCall();
    raw.request(new RequestOptions().setMethod(HttpMethod.POST).setHost("127.0.0.1").setPort(daemon.grpcPort())
        .setURI("/edgelm.v1.Generation/Generate")).onComplete(ar -> {
          if (ar.failed()) {
            call.done.completeExceptionally(ar.cause());
            call.request.completeExceptionally(ar.cause());
            return;
          }
          HttpClientRequest req = ar.result();
          req.putHeader("content-type", "application/grpc").putHeader("te", "trailers");
          headers.forEach(req::putHeader);
          req.exceptionHandler(e -> call.done.complete(failed(e)));
          req.response().onComplete(rr -> {
            if (rr.failed()) {
              call.done.complete(failed(rr.cause()));
              return;
            }
            var resp = rr.result();
            resp.exceptionHandler(e -> call.done.complete(failed(e)));
            resp.handler(b -> { });
            resp.endHandler(v -> {
              String code = resp.getHeader("grpc-status") != null ? resp.getHeader("grpc-status") : resp.getTrailer("grpc-status");
              String msg = resp.getHeader("grpc-message") != null ? resp.getHeader("grpc-message") : resp.getTrailer("grpc-message");
              call.done.complete(new Status(code == null ? GrpcStatus.UNKNOWN : GrpcStatus.valueOf(Integer.parseInt(code)),
                  msg == null ? null : URLDecoder.decode(msg.replace("+", "%2B"), StandardCharsets.UTF_8)));
            });
          });
          req.setChunked(true);
          req.sendHead().onComplete(h -> call.request.complete(req));
        });
    return call;
  }

  private static Status failed(Throwable e) {
    return e instanceof StreamResetException r ? new Status(GrpcStatus.CANCELLED, "reset " + r.getCode())
        : new Status(GrpcStatus.UNAVAILABLE, String.valueOf(e));
  }

  /** {@code payload} as one gRPC length-prefixed message (uncompressed). */
  public static Buffer frame(byte[] payload) {
    return Buffer.buffer().appendByte((byte) 0).appendInt(payload.length).appendBytes(payload);
  }

  private static String message(GrpcClientResponse<?, ?> resp) {
    String m = resp.statusMessage();
    if (m == null && resp.trailers() != null && resp.trailers().get("grpc-message") != null) {
      m = URLDecoder.decode(resp.trailers().get("grpc-message").replace("+", "%2B"), StandardCharsets.UTF_8);
    }
    return m;
  }

  /** A client-side method of any service. */
  public static <Req extends Message, Resp extends Message> ServiceMethod<Resp, Req> method(String service, String name, Message.Builder response) {
    int dot = service.lastIndexOf('.');
    ServiceName sn = dot < 0 ? ServiceName.create(service) : ServiceName.create(service.substring(0, dot), service.substring(dot + 1));
    return ServiceMethod.client(sn, name, GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(response));
  }

  /** The result of a unary or server-streaming call: messages and status. */
  public record Reply<Resp>(List<Resp> messages, Status status) {
    public Resp single() {
      if (status.status() != GrpcStatus.OK || messages.size() != 1) {
        throw new AssertionError("expected one message and OK, got " + messages.size() + " and " + status);
      }
      return messages.get(0);
    }
  }

  /** Calls {@code method} with one request and collects every response until the status. */
  public <Req, Resp> Reply<Resp> call(ServiceMethod<Resp, Req> method, Req request, Map<String, String> headers) {
    CompletableFuture<Reply<Resp>> out = new CompletableFuture<>();
    List<Resp> got = new ArrayList<>();
    client.request(address(), method).onComplete(ar -> {
      if (ar.failed()) {
        out.completeExceptionally(ar.cause());
        return;
      }
      GrpcClientRequest<Req, Resp> req = ar.result();
      headers.forEach((k, v) -> req.headers().set(k, v));
      req.end(request);
      req.response().onComplete(rr -> {
        if (rr.failed()) {
          out.completeExceptionally(rr.cause());
          return;
        }
        GrpcClientResponse<Req, Resp> resp = rr.result();
        resp.handler(got::add);
        resp.exceptionHandler(out::completeExceptionally);
        resp.endHandler(v -> out.complete(new Reply<>(List.copyOf(got), new Status(resp.status(), message(resp)))));
      });
    });
    return out.orTimeout(Awaits.PATIENCE.toSeconds(), TimeUnit.SECONDS).join();
  }

  public <Req, Resp> Reply<Resp> call(ServiceMethod<Resp, Req> method, Req request) {
    return call(method, request, Map.of());
  }

  /** A server-streaming call in progress: messages as they arrive, and its status once it ends. */
  public record OpenCall<Resp>(List<Resp> messages, CompletableFuture<Status> done, CompletableFuture<Runnable> cancel) {}

  public <Req, Resp> OpenCall<Resp> open(ServiceMethod<Resp, Req> method, Req request, Map<String, String> headers) {
    OpenCall<Resp> call = new OpenCall<>(new CopyOnWriteArrayList<>(), new CompletableFuture<>(), new CompletableFuture<>());
    client.request(address(), method).onComplete(ar -> {
      if (ar.failed()) {
        call.done().completeExceptionally(ar.cause());
        return;
      }
      GrpcClientRequest<Req, Resp> req = ar.result();
      headers.forEach((k, v) -> req.headers().set(k, v));
      call.cancel().complete(req::cancel);
      req.end(request);
      req.response().onComplete(rr -> {
        if (rr.failed()) {
          call.done().completeExceptionally(rr.cause());
          return;
        }
        GrpcClientResponse<Req, Resp> resp = rr.result();
        resp.handler(call.messages()::add);
        resp.exceptionHandler(e -> call.done().complete(new Status(GrpcStatus.UNAVAILABLE, String.valueOf(e))));
        resp.endHandler(v -> call.done().complete(new Status(resp.status(), message(resp))));
      });
    });
    return call;
  }

  /** GET on the HTTP port: status code and body. */
  public HttpResponse<String> get(String path) {
    try {
      return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + daemon.httpPort() + path)).build(),
          HttpResponse.BodyHandlers.ofString());
    } catch (IOException e) {
      throw new java.io.UncheckedIOException(e);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IllegalStateException(e);
    }
  }

  public String metrics() {
    return get("/metrics").body();
  }

  /**
   * The value of the first Prometheus sample whose name is {@code name} and whose labels include
   * {@code labelSubstring}, or 0 when there is none (a counter not yet incremented).
   */
  public double metric(String name, String labelSubstring) {
    return metricValue(metrics(), name, labelSubstring);
  }

  public static double metricValue(String scrape, String name, String labelSubstring) {
    Pattern p = Pattern.compile("^" + Pattern.quote(name) + "(\\{[^}]*\\})?\\s+(\\S+)$", Pattern.MULTILINE);
    Matcher m = p.matcher(scrape);
    while (m.find()) {
      String labels = m.group(1) == null ? "" : m.group(1);
      if (labels.contains(labelSubstring)) {
        return Double.parseDouble(m.group(2));
      }
    }
    return 0;
  }

  @Override
  public void close() {
    try {
      client.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      raw.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
      vertx.close().toCompletionStage().toCompletableFuture().get(10, TimeUnit.SECONDS);
    } catch (Exception e) {
      // best effort: the daemon's own close below is what matters
    }
    daemon.close();
  }
}
