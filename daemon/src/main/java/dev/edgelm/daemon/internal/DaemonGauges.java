package dev.edgelm.daemon.internal;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;

/**
 * What the daemon's gauges read at each collection: per-model admission from the registry, the stream counters of
 * {@link ActiveStreams}, and the cache's weight. The registry is set once it exists (telemetry is created before it).
 *
 * <p>Threading: thread-safe; read on the collecting thread.
 */
final class DaemonGauges implements Telemetry.Gauges {
  private final ActiveStreams streams;
  private final AtomicReference<ModelRegistry> registry = new AtomicReference<>();

  DaemonGauges(ActiveStreams streams) {
    this.streams = streams;
  }

  void registry(ModelRegistry r) {
    registry.set(r);
  }

  @Override
  public Map<String, long[]> streamsByModel() {
    Map<String, long[]> out = new LinkedHashMap<>();
    ModelRegistry r = registry.get();
    if (r != null) {
      for (ServedModel sm : r.all()) {
        out.put(sm.name, new long[] {sm.admission.running(), sm.admission.queued()});
      }
    }
    return out;
  }

  @Override
  public long bufferedMessages() {
    return streams.buffered();
  }

  @Override
  public long bufferedMessagesHighWater() {
    return streams.bufferedHighWater();
  }

  @Override
  public long streamsInProgress() {
    return streams.size();
  }

  @Override
  public long pausedStreams() {
    return streams.pausedCount();
  }

  @Override
  public long cancellingStreams() {
    return streams.cancellingCount();
  }

  @Override
  public long[] cacheWeightAndCount() {
    ModelRegistry r = registry.get();
    return r == null ? new long[2] : r.weightAndCount();
  }
}
