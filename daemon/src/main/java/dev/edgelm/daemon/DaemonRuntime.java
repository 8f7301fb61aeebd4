package dev.edgelm.daemon;

import dev.edgelm.engine.Ticker;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.util.Objects;
import java.util.Optional;

/**
 * What a daemon depends on besides its configuration, injected so that tests can replace it: the
 * time source of its measurements, the model loader, and an extra span exporter (traces also go to
 * OTLP when configured).
 *
 * @param ticker nanosecond time for queue, time-to-first-token and load timings
 * @param loader how packages become servable models
 * @param spanExporter receives every finished span in addition to OTLP, or empty
 */
public record DaemonRuntime(Ticker ticker, ModelLoader loader, Optional<SpanExporter> spanExporter) {
  public static final DaemonRuntime DEFAULTS = new DaemonRuntime(Ticker.system(), ModelLoader.ONNX_RUNTIME, Optional.empty());

  public DaemonRuntime {
    Objects.requireNonNull(ticker, "ticker");
    Objects.requireNonNull(loader, "loader");
    Objects.requireNonNull(spanExporter, "spanExporter");
  }

  public DaemonRuntime withTicker(Ticker t) {
    return new DaemonRuntime(t, loader, spanExporter);
  }

  public DaemonRuntime withLoader(ModelLoader l) {
    return new DaemonRuntime(ticker, l, spanExporter);
  }

  public DaemonRuntime withSpanExporter(SpanExporter exporter) {
    return new DaemonRuntime(ticker, loader, Optional.of(exporter));
  }
}
