package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongMeasurement;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.otlp.metrics.OtlpGrpcMetricExporter;
import io.opentelemetry.exporter.otlp.trace.OtlpGrpcSpanExporter;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.SdkMeterProviderBuilder;
import io.opentelemetry.sdk.metrics.export.MetricExporter;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.vertx.grpc.common.GrpcStatus;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The daemon's OpenTelemetry metrics and traces, with a Prometheus scrape of the metrics.
 *
 * <p>Names follow the OpenTelemetry GenAI semantic conventions where they define one
 * ({@code gen_ai.server.time_to_first_token}, {@code gen_ai.server.time_per_output_token},
 * {@code gen_ai.server.request.duration}, {@code gen_ai.client.token.usage}) and carry an
 * {@code edgelm.} prefix otherwise. Every instrument is attributed with the model name
 * ({@code gen_ai.request.model}). Gauges are observed from a {@link Gauges} source at collection.
 *
 * <p>As a {@link StreamEvents} listener it records each stream's metrics: its tokens, suspensions and stall as they
 * happen, and at its end the request count and duration, token usage, steps after a cancel and — for a call that ended
 * OK — time to first token and time per output token.
 *
 * <p>Threading: recording methods are thread-safe and non-blocking (the SDK aggregates in memory);
 * {@link #scrape()} and {@link #close()} may block briefly and run off event loops.
 */
final class Telemetry implements StreamEvents, AutoCloseable {
  static final AttributeKey<String> MODEL = AttributeKey.stringKey("gen_ai.request.model");
  static final AttributeKey<String> OPERATION = AttributeKey.stringKey("gen_ai.operation.name");
  static final AttributeKey<String> TOKEN_TYPE = AttributeKey.stringKey("gen_ai.token.type");
  static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
  static final AttributeKey<String> GRPC_STATUS = AttributeKey.stringKey("rpc.grpc.status");
  /** The API a request came through: grpc or openai ({@link StreamApi}). */
  static final AttributeKey<String> API = AttributeKey.stringKey("edgelm.api");
  static final AttributeKey<String> CAUSE = AttributeKey.stringKey("edgelm.cause");
  static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("edgelm.outcome");
  static final String OPERATION_NAME = "text_completion";

  // Bucket advice from the GenAI conventions, with finer low buckets: small edge models decode in
  // about a millisecond per token.
  private static final List<Double> TTFT_BUCKETS = List.of(0.001, 0.0025, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5,
      0.75, 1.0, 2.5, 5.0, 7.5, 10.0);
  private static final List<Double> TPOT_BUCKETS = List.of(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15,
      0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5);
  private static final List<Double> DURATION_BUCKETS = List.of(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24,
      20.48, 40.96, 81.92);
  private static final List<Long> TOKEN_BUCKETS = List.of(1L, 4L, 16L, 64L, 256L, 1024L, 4096L, 16384L, 65536L, 262144L,
      1048576L, 4194304L, 16777216L, 67108864L);
  private static final List<Double> LOAD_BUCKETS = List.of(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0);

  /** Current values the gauges report, read at each collection. Implementations must be thread-safe and quick. */
  public interface Gauges {
    /** Per model: (active streams, queued streams). */
    Map<String, long[]> streamsByModel();

    /** Response messages written to streams but not yet sent, over all streams. */
    long bufferedMessages();

    /** The most any one stream has had buffered since start. */
    long bufferedMessagesHighWater();

    /** Generate calls the daemon holds, from their arrival (before the request message) to their end; the drain waits for these. */
    long streamsInProgress();

    /** Streams whose decoding is paused because their reader is slow. */
    long pausedStreams();

    /** Streams cancelled whose current step has not ended yet. */
    long cancellingStreams();

    /** Bytes the loaded models weigh (weights + KV budgets), and how many are loaded. */
    long[] cacheWeightAndCount();
  }

  private final SdkMeterProvider meterProvider;
  private final SdkTracerProvider tracerProvider;
  private final PrometheusMetricReader prometheus;
  private final PrometheusTextFormatWriter textFormat = PrometheusTextFormatWriter.create();
  private final Tracer tracer;
  private final Map<String, Attributes> modelAttributes = new ConcurrentHashMap<>();

  private final DoubleHistogram timeToFirstToken;
  private final DoubleHistogram timePerOutputToken;
  private final DoubleHistogram requestDuration;
  private final LongHistogram tokenUsage;
  private final LongCounter generatedTokens;
  private final LongCounter requests;
  private final DoubleHistogram modelLoadDuration;
  private final LongCounter cacheHits;
  private final LongCounter cacheMisses;
  private final LongCounter cacheEvictions;
  private final LongCounter modelSwaps;
  private final LongHistogram stepsAfterCancel;
  private final LongCounter authRejected;
  private final LongCounter streamsStalled;
  private final LongCounter streamsYielded;

  private Telemetry(SdkMeterProvider meterProvider, SdkTracerProvider tracerProvider, PrometheusMetricReader prometheus, Gauges gauges) {
    this.meterProvider = meterProvider;
    this.tracerProvider = tracerProvider;
    this.prometheus = prometheus;
    this.tracer = tracerProvider.get("dev.edgelm.daemon");
    Meter meter = meterProvider.get("dev.edgelm.daemon");

    timeToFirstToken = meter.histogramBuilder("gen_ai.server.time_to_first_token").setUnit("s")
        .setDescription("Time from the request's arrival (queueing included) to its first generated token.")
        .setExplicitBucketBoundariesAdvice(TTFT_BUCKETS).build();
    timePerOutputToken = meter.histogramBuilder("gen_ai.server.time_per_output_token").setUnit("s")
        .setDescription("Per request: decode time per output token after the first (the inter-token latency).")
        .setExplicitBucketBoundariesAdvice(TPOT_BUCKETS).build();
    requestDuration = meter.histogramBuilder("gen_ai.server.request.duration").setUnit("s")
        .setDescription("Time from a Generate call's arrival to its end.").setExplicitBucketBoundariesAdvice(DURATION_BUCKETS).build();
    tokenUsage = meter.histogramBuilder("gen_ai.client.token.usage").ofLongs().setUnit("{token}")
        .setDescription("Tokens per request, by gen_ai.token.type (input = prompt, output = generated).")
        .setExplicitBucketBoundariesAdvice(TOKEN_BUCKETS).build();
    generatedTokens = meter.counterBuilder("edgelm.generated_tokens").setUnit("{token}")
        .setDescription("Tokens generated (one per decode step that ran the model).").build();
    requests = meter.counterBuilder("edgelm.requests").setUnit("{request}")
        .setDescription("Generation requests by API (edgelm.api: grpc, openai) and the status they ended with (rpc.grpc.status; for the HTTP API the gRPC code of the same outcome).").build();
    modelLoadDuration = meter.histogramBuilder("edgelm.model.load.duration").setUnit("s")
        .setDescription("Time to load a model (pull included), by edgelm.outcome.").setExplicitBucketBoundariesAdvice(LOAD_BUCKETS).build();
    cacheHits = meter.counterBuilder("edgelm.model_cache.hits").setUnit("{request}").setDescription("Requests that found their model loaded.").build();
    cacheMisses = meter.counterBuilder("edgelm.model_cache.misses").setUnit("{request}")
        .setDescription("Requests that found their model not loaded (and started loading it).").build();
    cacheEvictions = meter.counterBuilder("edgelm.model_cache.evictions").setUnit("{model}")
        .setDescription("Models evicted from memory, by edgelm.cause: size (memory budget) or expired (keep-alive).").build();
    modelSwaps = meter.counterBuilder("edgelm.model.swaps").setUnit("{swap}")
        .setDescription("Variants swapped in after the model's tag moved to a new release (blue/green: the old one drains).").build();
    stepsAfterCancel = meter.histogramBuilder("edgelm.generation.steps_after_cancel").ofLongs().setUnit("{step}")
        .setDescription("Model steps started after a cancellation (client cancel, deadline, disconnect, drain) reached the daemon; "
            + "the step already running is not counted. 0, or 1 when the cancel races the start of a step.")
        .setExplicitBucketBoundariesAdvice(List.of(0L, 1L, 2L, 4L, 8L)).build();

    authRejected = meter.counterBuilder("edgelm.auth.rejected").setUnit("{call}")
        .setDescription("Calls refused for a missing or unknown API key.").build();
    streamsStalled = meter.counterBuilder("edgelm.stream.stalled").setUnit("{stream}")
        .setDescription("Streams cancelled because their reader took no message for generation.stall_timeout (counted CANCELLED in edgelm.requests).")
        .build();
    streamsYielded = meter.counterBuilder("edgelm.stream.yielded").setUnit("{stream}")
        .setDescription("Times a stream paused for its reader lent its slot (and freed its KV cache) to a waiting call.").build();

    meter.gaugeBuilder("edgelm.active_streams").ofLongs().setUnit("{stream}").setDescription("Generations running (admitted).")
        .buildWithCallback(m -> perModel(gauges, m, 0));
    meter.gaugeBuilder("edgelm.queue_depth").ofLongs().setUnit("{stream}").setDescription("Generations waiting for a slot.")
        .buildWithCallback(m -> perModel(gauges, m, 1));
    meter.gaugeBuilder("edgelm.stream.buffered_messages").ofLongs().setUnit("{message}")
        .setDescription("Response messages produced by decoding but not yet sent to the network, over all streams.")
        .buildWithCallback(m -> m.record(gauges.bufferedMessages()));
    meter.gaugeBuilder("edgelm.stream.buffered_messages.max").ofLongs().setUnit("{message}")
        .setDescription("The most response messages any one stream has had buffered since start (bounded by generation.max_buffered_messages).")
        .buildWithCallback(m -> m.record(gauges.bufferedMessagesHighWater()));
    meter.gaugeBuilder("edgelm.stream.in_progress").ofLongs().setUnit("{stream}")
        .setDescription("Generate calls in progress, from arrival (before the request message is read) to their status; the drain waits for these.")
        .buildWithCallback(m -> m.record(gauges.streamsInProgress()));
    meter.gaugeBuilder("edgelm.stream.paused").ofLongs().setUnit("{stream}")
        .setDescription("Streams whose decoding is paused until their reader catches up.")
        .buildWithCallback(m -> m.record(gauges.pausedStreams()));
    meter.gaugeBuilder("edgelm.stream.cancelling").ofLongs().setUnit("{stream}")
        .setDescription("Streams cancelled (client, deadline, drain) whose step in progress has not ended yet.")
        .buildWithCallback(m -> m.record(gauges.cancellingStreams()));
    meter.gaugeBuilder("edgelm.model_cache.weight").ofLongs().setUnit("By")
        .setDescription("Bytes the loaded models weigh against cache.memory_budget (weights + KV budgets).")
        .buildWithCallback(m -> m.record(gauges.cacheWeightAndCount()[0]));
    meter.gaugeBuilder("edgelm.model_cache.models").ofLongs().setUnit("{model}").setDescription("Models loaded.")
        .buildWithCallback(m -> m.record(gauges.cacheWeightAndCount()[1]));
  }

  private void perModel(Gauges gauges, ObservableLongMeasurement m, int index) {
    for (Map.Entry<String, long[]> e : gauges.streamsByModel().entrySet()) {
      m.record(e.getValue()[index], model(e.getKey()));
    }
  }

  /**
   * Creates the SDK: a Prometheus reader always, OTLP metric and span export when configured, and
   * {@code extraSpans} (tests) when given.
   */
  public static Telemetry create(DaemonConfig.Telemetry config, Optional<SpanExporter> extraSpans, Gauges gauges) {
    Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
        AttributeKey.stringKey("service.name"), config.serviceName(),
        AttributeKey.stringKey("service.version"), dev.edgelm.proto.EdgelmVersion.CURRENT)));
    PrometheusMetricReader prometheus = PrometheusMetricReader.builder().setOtelScopeLabelsEnabled(false).build();
    SdkMeterProviderBuilder meters = SdkMeterProvider.builder().setResource(resource).registerMetricReader(prometheus);
    SdkTracerProviderBuilder traces = SdkTracerProvider.builder().setResource(resource)
        .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(config.traceSampleRatio())));
    if (config.otlpEnabled()) {
      meters.registerMetricReader(PeriodicMetricReader.builder(otlpMetrics(config)).setInterval(config.metricExportInterval()).build());
      traces.addSpanProcessor(BatchSpanProcessor.builder(otlpSpans(config)).build());
    }
    extraSpans.ifPresent(e -> traces.addSpanProcessor(SimpleSpanProcessor.create(e)));
    return new Telemetry(meters.build(), traces.build(), prometheus, gauges);
  }

  private static MetricExporter otlpMetrics(DaemonConfig.Telemetry c) {
    String base = stripSlash(c.otlpEndpoint());
    return c.otlpProtocol().equals("grpc")
        ? OtlpGrpcMetricExporter.builder().setEndpoint(base).build()
        : OtlpHttpMetricExporter.builder().setEndpoint(base + "/v1/metrics").build();
  }

  private static SpanExporter otlpSpans(DaemonConfig.Telemetry c) {
    String base = stripSlash(c.otlpEndpoint());
    return c.otlpProtocol().equals("grpc")
        ? OtlpGrpcSpanExporter.builder().setEndpoint(base).build()
        : OtlpHttpSpanExporter.builder().setEndpoint(base + "/v1/traces").build();
  }

  private static String stripSlash(String s) {
    return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
  }

  public Tracer tracer() {
    return tracer;
  }

  /** W3C trace context: a {@code traceparent} in the request metadata makes the request's trace a child of the caller's. */
  public TextMapPropagator propagator() {
    return W3CTraceContextPropagator.getInstance();
  }

  Attributes model(String name) {
    return modelAttributes.computeIfAbsent(name, n -> Attributes.of(MODEL, n, OPERATION, OPERATION_NAME));
  }

  @Override
  public void token(String model) {
    generatedTokens.add(1, model(model));
  }

  @Override
  public void suspended(String model) {
    streamsYielded.add(1, model(model));
  }

  @Override
  public void stalled(String model) {
    streamsStalled.add(1, model(model));
  }

  @Override
  public void finished(StreamEvents.Outcome o) {
    requestEnded(o.model(), o.api(), o.status(), o.duration());
    if (o.usage() != null) {
      tokenUsage(o.model(), o.usage().promptTokens(), o.usage().completionTokens());
    }
    if (o.stepsAfterCancel() >= 0) {
      stepsAfterCancel.record(o.stepsAfterCancel(), model(o.model()));
    }
    if (o.status() == GrpcStatus.OK && o.timeToFirstToken() != null) {
      timeToFirstToken.record(seconds(o.timeToFirstToken()), model(o.model()));
      if (o.timings() != null && o.timings().decodeTokensPerSecond() > 0) {
        timePerOutputToken.record(1.0 / o.timings().decodeTokensPerSecond(), model(o.model()));
      }
    }
  }

  private void requestEnded(String model, StreamApi api, GrpcStatus status, Duration d) {
    Attributes base = model(model).toBuilder().put(API, api.label).build();
    requests.add(1, base.toBuilder().put(GRPC_STATUS, status.name()).build());
    requestDuration.record(seconds(d), status == GrpcStatus.OK ? base : base.toBuilder().put(ERROR_TYPE, status.name()).build());
  }

  private void tokenUsage(String model, long input, long output) {
    tokenUsage.record(input, model(model).toBuilder().put(TOKEN_TYPE, "input").build());
    tokenUsage.record(output, model(model).toBuilder().put(TOKEN_TYPE, "output").build());
  }

  void modelLoaded(String model, Duration d, boolean ok) {
    modelLoadDuration.record(seconds(d), model(model).toBuilder().put(OUTCOME, ok ? "loaded" : "failed").build());
  }

  void cacheHit(String model) {
    cacheHits.add(1, model(model));
  }

  void cacheMiss(String model) {
    cacheMisses.add(1, model(model));
  }

  void cacheEviction(String model, String cause) {
    cacheEvictions.add(1, model(model).toBuilder().put(CAUSE, cause).build());
  }

  void modelSwapped(String model) {
    modelSwaps.add(1, model(model));
  }

  void authRejected() {
    authRejected.add(1);
  }

  /** The Prometheus text exposition of every metric. Collects synchronously: call it off event loops. */
  public byte[] scrape() {
    ByteArrayOutputStream out = new ByteArrayOutputStream(16 * 1024);
    try {
      textFormat.write(out, prometheus.collect());
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  public String scrapeContentType() {
    return textFormat.getContentType();
  }

  /** Flushes pending exports (bounded wait) and shuts the SDK down. */
  @Override
  public void close() {
    tracerProvider.shutdown().join(5, TimeUnit.SECONDS);
    meterProvider.shutdown().join(5, TimeUnit.SECONDS);
  }

  private static double seconds(Duration d) {
    return d.toNanos() / 1e9;
  }
}
