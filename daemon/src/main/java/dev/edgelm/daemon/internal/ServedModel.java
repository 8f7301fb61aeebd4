package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.proto.v1.HubSource;
import dev.edgelm.proto.v1.ModelSource;
import dev.edgelm.proto.v1.ModelState;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;

/**
 * A model the daemon knows by name, loaded or not: where its package comes from, its admission
 * control, whether it is pinned, and what its last load did. Stable across loads and evictions
 * (the {@link LoadedModel} comes and goes).
 *
 * <p>Threading: fields that change are volatile and written by the registry; reads may see a
 * slightly stale but consistent-per-field view (they feed Describe and gauges).
 */
final class ServedModel {
  final String name;
  final boolean configured;
  final boolean preload;
  final Path path;
  final String reference;
  /** The variant the operator pinned; null = selected for this host. */
  final String variant;
  /** How a variant is selected for this model (context, concurrency, pin, budget, floor). */
  final SelectionPolicy policy;
  final Admission admission;

  /** The last load: the future the cache holds, and the one that completes after its outcome is recorded. */
  record LoadAttempt(CompletableFuture<LoadedModel> loaded, CompletableFuture<LoadedModel> settled) {}

  volatile LoadAttempt attempt;
  volatile boolean pinned;
  volatile ModelState state = ModelState.MODEL_STATE_NOT_LOADED;
  volatile Throwable lastFailure;
  /** Failed loads in a row, and when the last one ended (ticker nanoseconds): the retry backoff counts from it. */
  volatile int consecutiveFailures;
  volatile long lastFailureNanos;
  volatile VariantDescriptor descriptor;
  /** Set once a hub model has been pulled: what was resolved and where the package is. */
  volatile HubSource pulled;
  volatile double loadSeconds;
  volatile long residentBytes;
  volatile long kvBudgetBytes;
  volatile int contextLength;
  /** Loaded at least once (readiness waits for this on preloaded models). */
  volatile boolean everLoaded;
  /** A hub model's last selection (what is served, or why nothing can be). */
  volatile Selection selection;
  /** Where the selected variant runs ("cpu", "cuda"). */
  volatile String executionProvider = "cpu";
  /** When the tag was last checked (epoch ms), and why the last check or swap failed ("" when it did not). */
  volatile long lastCheckedMillis;
  volatile String updateError = "";
  /** A release poll is scheduled (at most one per model). */
  final java.util.concurrent.atomic.AtomicBoolean polling = new java.util.concurrent.atomic.AtomicBoolean();

  ServedModel(DaemonConfig.Model spec, boolean configured, SelectionPolicy policy) {
    this.name = spec.name();
    this.configured = configured;
    this.preload = spec.preload();
    this.path = spec.path();
    this.reference = spec.reference();
    this.variant = spec.variant();
    this.policy = policy;
    this.pinned = spec.pin();
    this.admission = new Admission(spec.name(), spec.maxConcurrent(), spec.maxQueued());
  }

  boolean fromHub() {
    return reference != null;
  }

  /** Same package source as {@code spec} (re-adding a model by the same name is then a no-op). */
  boolean sameSource(DaemonConfig.Model spec) {
    return fromHub()
        ? reference.equals(spec.reference()) && java.util.Objects.equals(variant, spec.variant())
        : spec.path() != null && path.equals(spec.path());
  }

  ModelSource source() {
    if (!fromHub()) {
      return ModelSource.newBuilder().setPath(path.toString()).build();
    }
    HubSource p = pulled;
    return ModelSource.newBuilder().setHub(p != null ? p
        : HubSource.newBuilder().setReference(reference).setVariant(variant == null ? "" : variant).build()).build();
  }
}
