package dev.edgelm.daemon.internal;

import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.vertx.core.MultiMap;
import io.vertx.grpc.common.GrpcStatus;
import java.util.Locale;

/**
 * One generation stream's trace: a server span per request (a child of the caller's when the request carries a W3C
 * {@code traceparent}) with one child span per phase — {@code queue}, {@code prefill}, {@code decode}.
 *
 * <p>Threading: one instance per stream, called on the stream's event loop only (see {@link StreamEvents}).
 */
final class StreamTrace implements StreamEvents {
  private static final TextMapGetter<MultiMap> HEADERS = new TextMapGetter<>() {
    @Override
    @SuppressWarnings("deprecation") // still abstract in the API; the W3C propagator reads headers by name
    public Iterable<String> keys(MultiMap carrier) {
      return carrier.names();
    }

    @Override
    public String get(MultiMap carrier, String key) {
      return carrier == null ? null : carrier.get(key);
    }
  };

  private final Tracer tracer;
  private final TextMapPropagator propagator;
  /** The request's span; null until the request message is read. */
  private Span span;
  /** The current phase's span, or null. */
  private Span phase;

  StreamTrace(Tracer tracer, TextMapPropagator propagator) {
    this.tracer = tracer;
    this.propagator = propagator;
  }

  @Override
  public void started(StreamRequest req, StreamApi api, MultiMap headers) {
    Context parent = propagator.extract(Context.root(), headers, HEADERS);
    span = tracer.spanBuilder(Telemetry.OPERATION_NAME + " " + req.model())
        .setParent(parent)
        .setSpanKind(SpanKind.SERVER)
        .setAttribute(Telemetry.OPERATION, Telemetry.OPERATION_NAME)
        .setAttribute(Telemetry.MODEL, req.model())
        .setAttribute(Telemetry.API, api.label)
        .setAttribute("gen_ai.request.max_tokens", (long) req.maxTokens())
        .setAttribute("gen_ai.request.temperature", (double) req.sampling().temperature())
        .startSpan();
    if (api == StreamApi.GRPC) {
      span.setAttribute("rpc.system", "grpc");
      span.setAttribute("rpc.service", "edgelm.v1.Generation");
      span.setAttribute("rpc.method", "Generate");
    } else {
      span.setAttribute("http.request.method", "POST");
      span.setAttribute("http.route", api.route);
    }
    if (!req.requestId().isEmpty()) {
      span.setAttribute("edgelm.request_id", req.requestId());
    }
    phase = child("queue");
  }

  @Override
  public void admitted(String model) {
    nextPhase("prefill");
  }

  @Override
  public void firstToken(String model) {
    nextPhase("decode");
  }

  @Override
  public void finished(Outcome outcome) {
    if (phase != null) {
      phase.end();
      phase = null;
    }
    if (span == null) {
      return;
    }
    if (outcome.usage() != null) {
      span.setAttribute("gen_ai.usage.input_tokens", (long) outcome.usage().promptTokens());
      span.setAttribute("gen_ai.usage.output_tokens", (long) outcome.usage().completionTokens());
    }
    if (!outcome.servedVariant().isEmpty()) {
      span.setAttribute("gen_ai.response.model", outcome.servedVariant());
    }
    GrpcStatus status = outcome.status();
    span.setAttribute(AttributeKey.stringKey("rpc.grpc.status"), status.name());
    if (status != GrpcStatus.OK && status != GrpcStatus.CANCELLED) {
      span.setStatus(StatusCode.ERROR, status.name().toLowerCase(Locale.ROOT));
      span.setAttribute(Telemetry.ERROR_TYPE, status.name());
    }
    span.end();
  }

  /** Ends the current phase's span and starts {@code to}'s. */
  private void nextPhase(String to) {
    if (phase != null) {
      phase.end();
    }
    phase = span == null ? null : child(to);
  }

  private Span child(String name) {
    return tracer.spanBuilder(name).setParent(Context.root().with(span)).startSpan();
  }
}
