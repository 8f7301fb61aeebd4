package dev.edgelm.daemon.internal;

import io.vertx.core.Handler;
import io.vertx.core.Vertx;
import io.vertx.core.buffer.Buffer;
import io.vertx.core.http.HttpMethod;
import io.vertx.core.http.HttpServerRequest;
import java.util.function.Supplier;

/**
 * The plain-HTTP port: {@code GET /metrics} (Prometheus text), {@code /healthz} (200 while the
 * process serves), {@code /readyz} (200 once every preloaded model is loaded and while not
 * draining, else 503 with the reason).
 *
 * <p>Threading: runs on an event loop; the scrape collects on a Vert.x worker thread.
 */
final class HttpEndpoints implements Handler<HttpServerRequest> {
  private final Vertx vertx;
  private final Telemetry telemetry;
  private final Supplier<String> notReadyReason;

  /** @param notReadyReason why the daemon is not ready, or null when it is */
  HttpEndpoints(Vertx vertx, Telemetry telemetry, Supplier<String> notReadyReason) {
    this.vertx = vertx;
    this.telemetry = telemetry;
    this.notReadyReason = notReadyReason;
  }

  @Override
  public void handle(HttpServerRequest request) {
    if (request.method() != HttpMethod.GET && request.method() != HttpMethod.HEAD) {
      request.response().setStatusCode(405).putHeader("allow", "GET, HEAD").end();
      return;
    }
    switch (request.path()) {
      case "/metrics" -> vertx.executeBlocking(telemetry::scrape, false).onComplete(ar -> {
        if (ar.succeeded()) {
          request.response().putHeader("content-type", telemetry.scrapeContentType()).end(Buffer.buffer(ar.result()));
        } else {
          request.response().setStatusCode(500).end("metrics collection failed: " + ar.cause().getMessage() + "\n");
        }
      });
      case "/healthz" -> request.response().putHeader("content-type", "text/plain").end("ok\n");
      case "/readyz" -> {
        String reason = notReadyReason.get();
        if (reason == null) {
          request.response().putHeader("content-type", "text/plain").end("ready\n");
        } else {
          request.response().setStatusCode(503).putHeader("content-type", "text/plain").end("not ready: " + reason + "\n");
        }
      }
      default -> request.response().setStatusCode(404).putHeader("content-type", "text/plain")
          .end("not found; this port serves /metrics, /healthz and /readyz\n");
    }
  }
}
