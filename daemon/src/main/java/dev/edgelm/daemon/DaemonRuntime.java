package dev.edgelm.daemon;

import dev.edgelm.engine.Ticker;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;

/**
 * What a daemon depends on besides its configuration, injected so that tests can replace it: the
 * time source of its measurements, the model loader, an extra span exporter (traces also go to
 * OTLP when configured), the host probe, the scheduler of release polls, and the wall clock.
 *
 * @param ticker nanosecond time for queue, time-to-first-token and load timings
 * @param loader how packages become servable models
 * @param spanExporter receives every finished span in addition to OTLP, or empty
 * @param hostProbe what variant selection learns about the host; empty = probe this host with the
 *     configuration's {@code host.*} overrides
 * @param scheduler times release polls ({@code hub.poll_interval}); empty = a daemon thread
 * @param clock stamps selections and release checks
 */
public record DaemonRuntime(Ticker ticker, ModelLoader loader, Optional<SpanExporter> spanExporter, Optional<HostProbe> hostProbe,
    Optional<Scheduler> scheduler, Clock clock) {
  public static final DaemonRuntime DEFAULTS = new DaemonRuntime(Ticker.system(), ModelLoader.ONNX_RUNTIME, Optional.empty(), Optional.empty(),
      Optional.empty(), Clock.systemUTC());

  public DaemonRuntime {
    Objects.requireNonNull(ticker, "ticker");
    Objects.requireNonNull(loader, "loader");
    Objects.requireNonNull(spanExporter, "spanExporter");
    Objects.requireNonNull(hostProbe, "hostProbe");
    Objects.requireNonNull(scheduler, "scheduler");
    Objects.requireNonNull(clock, "clock");
  }

  public DaemonRuntime withTicker(Ticker t) {
    return new DaemonRuntime(t, loader, spanExporter, hostProbe, scheduler, clock);
  }

  public DaemonRuntime withLoader(ModelLoader l) {
    return new DaemonRuntime(ticker, l, spanExporter, hostProbe, scheduler, clock);
  }

  public DaemonRuntime withSpanExporter(SpanExporter exporter) {
    return new DaemonRuntime(ticker, loader, Optional.of(exporter), hostProbe, scheduler, clock);
  }

  public DaemonRuntime withHostProbe(HostProbe probe) {
    return new DaemonRuntime(ticker, loader, spanExporter, Optional.of(probe), scheduler, clock);
  }

  public DaemonRuntime withScheduler(Scheduler s) {
    return new DaemonRuntime(ticker, loader, spanExporter, hostProbe, Optional.of(s), clock);
  }

  public DaemonRuntime withClock(Clock c) {
    return new DaemonRuntime(ticker, loader, spanExporter, hostProbe, scheduler, c);
  }
}
