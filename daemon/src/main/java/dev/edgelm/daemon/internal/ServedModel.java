package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.Reference;
import dev.edgelm.proto.v1.HubSource;
import dev.edgelm.proto.v1.ModelSource;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.UnaryOperator;

/**
 * A model the daemon knows by name, loaded or not: where its package comes from, its admission
 * control, and its {@link ServedState}. Stable across loads and evictions (the {@link LoadedModel}
 * comes and goes).
 *
 * <p>Threading: the identity fields are final. Everything that changes is one {@link ServedState}
 * value, replaced atomically by {@link #update} (the registry is its only writer, on loader, hub,
 * cache and caller threads); readers take one {@link #state()} snapshot and build their answer from
 * it alone. {@link #attempt} (the last load's futures) and {@link #polling} coordinate threads and
 * are not part of what Describe shows.
 */
final class ServedModel {
  final String name;
  final boolean configured;
  final boolean preload;
  final Path path;
  /** Parsed once, when the model is registered: polls and pulls use it as is. */
  final Reference reference;
  /** The variant the operator pinned; null = selected for this host. */
  final String variant;
  /** {@code models.<name>.chat_template}: used instead of the package's template; null = the package's. */
  final String chatTemplate;
  /** How a variant is selected for this model (context, concurrency, pin, budget, floor). */
  final SelectionPolicy policy;
  final Admission admission;

  /** The last load: the future the cache holds, and the one that completes after its outcome is recorded. */
  record LoadAttempt(CompletableFuture<LoadedModel> loaded, CompletableFuture<LoadedModel> settled) {}

  volatile LoadAttempt attempt;
  /** A release poll is scheduled (at most one per model). */
  final AtomicBoolean polling = new AtomicBoolean();
  private final AtomicReference<ServedState> state;

  ServedModel(DaemonConfig.Model spec, boolean configured, SelectionPolicy policy) {
    this.name = spec.name();
    this.configured = configured;
    this.preload = spec.preload();
    this.path = spec.path();
    this.reference = spec.reference();
    this.variant = spec.variant();
    this.chatTemplate = spec.chatTemplate();
    this.policy = policy;
    this.state = new AtomicReference<>(ServedState.initial(spec.pin()));
    this.admission = new Admission(spec.name(), spec.maxConcurrent(), spec.maxQueued());
  }

  /** The state now: one consistent value. */
  ServedState state() {
    return state.get();
  }

  /** Replaces the state with {@code change} of it, atomically ({@code change} may run more than once: no side effects). */
  ServedState update(UnaryOperator<ServedState> change) {
    return state.updateAndGet(change);
  }

  boolean pinned() {
    return state.get().pinned();
  }

  boolean fromHub() {
    return reference != null;
  }

  /** Same package source as {@code spec} (re-adding a model by the same name is then a no-op). */
  boolean sameSource(DaemonConfig.Model spec) {
    return fromHub()
        ? spec.reference() != null && reference.equals(spec.reference()) && java.util.Objects.equals(variant, spec.variant())
        : spec.path() != null && path.equals(spec.path());
  }

  /** The source, for messages. */
  String describeSource() {
    return fromHub() ? reference + (variant != null ? " (variant " + variant + ")" : "") : path.toString();
  }

  /** Where the package comes from, as {@code s} says. */
  ModelSource source(ServedState s) {
    if (!fromHub()) {
      return ModelSource.newBuilder().setPath(path.toString()).build();
    }
    InstalledVariant p = s.pulled();
    return ModelSource.newBuilder().setHub(p != null ? HubModels.source(reference, p)
        : HubSource.newBuilder().setReference(reference.toString()).setVariant(variant == null ? "" : variant).build()).build();
  }
}
