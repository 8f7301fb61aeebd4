package dev.edgelm.daemon.internal;

import com.google.protobuf.Descriptors;
import io.vertx.core.Context;
import io.vertx.core.Vertx;
import io.vertx.grpc.common.GrpcMessageDecoder;
import io.vertx.grpc.common.GrpcMessageEncoder;
import io.vertx.grpc.common.GrpcStatus;
import io.vertx.grpc.common.ServiceMethod;
import io.vertx.grpc.common.ServiceName;
import io.vertx.grpc.health.v1.HealthCheckRequest;
import io.vertx.grpc.health.v1.HealthCheckResponse;
import io.vertx.grpc.health.v1.HealthCheckResponse.ServingStatus;
import io.vertx.grpc.health.v1.HealthListRequest;
import io.vertx.grpc.health.v1.HealthListResponse;
import io.vertx.grpc.health.v1.HealthProto;
import io.vertx.grpc.server.GrpcServerRequest;
import io.vertx.grpc.server.GrpcServerResponse;
import io.vertx.grpc.server.Service;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * The standard {@code grpc.health.v1.Health} service (Check, Watch, List), over the message classes
 * vertx-grpc-health ships.
 *
 * <p>Our own rather than vertx-grpc-health's {@code HealthService}: that one answers the
 * server-wide service {@code ""} with SERVING unconditionally and polls for Watch. Here every name
 * is answered by the daemon's status function ({@code ""} and {@code edgelm.v1.Generation} are
 * NOT_SERVING until the configured models are loaded, everything is NOT_SERVING while draining),
 * and Watch streams push a change as soon as {@link #refresh()} is called.
 *
 * <p>Threading: handlers run on event loops; {@link #refresh()} may be called from any thread and
 * hops to each watcher's context.
 */
final class HealthService {
  static final ServiceName NAME = ServiceName.create("grpc.health.v1.Health");
  static final Descriptors.ServiceDescriptor DESCRIPTOR = HealthProto.getDescriptor().findServiceByName("Health");
  static final ServiceMethod<HealthCheckRequest, HealthCheckResponse> CHECK = ServiceMethod.server(NAME, "Check",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckRequest.newBuilder()));
  static final ServiceMethod<HealthCheckRequest, HealthCheckResponse> WATCH = ServiceMethod.server(NAME, "Watch",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthCheckRequest.newBuilder()));
  static final ServiceMethod<HealthListRequest, HealthListResponse> LIST = ServiceMethod.server(NAME, "List",
      GrpcMessageEncoder.encoder(), GrpcMessageDecoder.decoder(HealthListRequest.newBuilder()));

  private final Function<String, ServingStatus> status;
  private final List<String> services;
  private final Set<Watcher> watchers = ConcurrentHashMap.newKeySet();

  /**
   * @param status the status of a service name, or null for a name the daemon does not serve
   * @param services the names List reports
   */
  HealthService(Function<String, ServingStatus> status, List<String> services) {
    this.status = status;
    this.services = List.copyOf(services);
  }

  private final class Watcher {
    final String service;
    final GrpcServerResponse<HealthCheckRequest, HealthCheckResponse> response;
    final Context context;
    ServingStatus last;

    Watcher(String service, GrpcServerResponse<HealthCheckRequest, HealthCheckResponse> response, Context context) {
      this.service = service;
      this.response = response;
      this.context = context;
    }

    void push() {
      ServingStatus now = statusOf(service);
      if (now != last && !response.writeQueueFull()) {
        last = now;
        response.write(HealthCheckResponse.newBuilder().setStatus(now).build());
      }
    }
  }

  private ServingStatus statusOf(String service) {
    ServingStatus s = status.apply(service);
    return s == null ? ServingStatus.SERVICE_UNKNOWN : s;
  }

  Service service() {
    return Service.service(NAME, DESCRIPTOR)
        .bind(CHECK, this::check)
        .bind(WATCH, this::watch)
        .bind(LIST, this::list)
        .build();
  }

  private void check(GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> request) {
    request.handler(req -> {
      ServingStatus s = status.apply(req.getService());
      if (s == null) {
        request.response().status(GrpcStatus.NOT_FOUND).statusMessage("unknown service '" + req.getService() + "'").end();
      } else {
        request.response().end(HealthCheckResponse.newBuilder().setStatus(s).build());
      }
    });
  }

  private void watch(GrpcServerRequest<HealthCheckRequest, HealthCheckResponse> request) {
    request.handler(req -> {
      Watcher w = new Watcher(req.getService(), request.response(), Vertx.currentContext());
      watchers.add(w);
      request.errorHandler(e -> watchers.remove(w));
      request.exceptionHandler(e -> watchers.remove(w));
      request.response().exceptionHandler(e -> watchers.remove(w));
      request.response().drainHandler(v -> w.push());
      w.push();
    });
  }

  private void list(GrpcServerRequest<HealthListRequest, HealthListResponse> request) {
    request.handler(req -> {
      HealthListResponse.Builder b = HealthListResponse.newBuilder();
      for (String s : services) {
        b.putStatuses(s, HealthCheckResponse.newBuilder().setStatus(statusOf(s)).build());
      }
      request.response().end(b.build());
    });
  }

  /** Pushes changed statuses to every Watch stream. Any thread. */
  void refresh() {
    for (Watcher w : watchers) {
      w.context.runOnContext(v -> w.push());
    }
  }

  int watchers() {
    return watchers.size();
  }

  /** Statuses of the listed services (for /readyz and logs). */
  Map<String, ServingStatus> snapshot() {
    Map<String, ServingStatus> out = new java.util.LinkedHashMap<>();
    for (String s : services) {
      out.put(s, statusOf(s));
    }
    return out;
  }
}
