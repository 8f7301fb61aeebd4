package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Selection;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.proto.v1.ModelState;
import dev.edgelm.proto.v1.VariantDescriptor;

/**
 * What a served model is now, as one immutable value: {@link ServedModel} holds it in an atomic
 * reference and every change replaces it whole ({@link ServedModel#update}), so a reader (Describe,
 * List, health, the weigher) sees one moment, never the variant of one swap beside the descriptor
 * or footprint of another.
 *
 * @param status loaded, loading, failed or not loaded
 * @param pinned never evicted, never expires
 * @param pulled a hub model's variant in the store (the one served, or the one the next load opens);
 *     null before the first pull and for a path model
 * @param selection a hub model's last selection: what is served, or why nothing can be
 * @param executionProvider where the selected variant runs ("cpu", "cuda")
 * @param descriptor the variant's descriptor (known from the package once it is opened, or the pull)
 * @param residentBytes weights in memory (0 until loaded)
 * @param kvBudgetBytes the KV budget it is weighed with
 * @param contextLength longest sequence served: the model's context capped by generation.max_context
 * @param loadSeconds how long the last load or swap took
 * @param lastFailure the last load's failure, null after a success
 * @param consecutiveFailures failed loads in a row
 * @param lastFailureNanos when the last one ended (ticker): the retry backoff counts from it
 * @param everLoaded loaded at least once (readiness waits for this on preloaded models)
 * @param lastCheckedMillis when the tag was last checked (epoch ms)
 * @param updateError why the last check or swap failed, "" when it did not
 */
record ServedState(
    ModelState status,
    boolean pinned,
    InstalledVariant pulled,
    Selection selection,
    String executionProvider,
    VariantDescriptor descriptor,
    long residentBytes,
    long kvBudgetBytes,
    int contextLength,
    double loadSeconds,
    Throwable lastFailure,
    int consecutiveFailures,
    long lastFailureNanos,
    boolean everLoaded,
    long lastCheckedMillis,
    String updateError) {

  static ServedState initial(boolean pinned) {
    return new ServedState(ModelState.MODEL_STATE_NOT_LOADED, pinned, null, null, "cpu", null, 0, 0, 0, 0, null, 0, 0, false, 0, "");
  }

  ServedState withStatus(ModelState s) {
    return new ServedState(s, pinned, pulled, selection, executionProvider, descriptor, residentBytes, kvBudgetBytes, contextLength,
        loadSeconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, lastCheckedMillis, updateError);
  }

  ServedState withPinned(boolean p) {
    return new ServedState(status, p, pulled, selection, executionProvider, descriptor, residentBytes, kvBudgetBytes, contextLength,
        loadSeconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, lastCheckedMillis, updateError);
  }

  /** A selection made (at {@code checkedMillis}), before anything is pulled for it. */
  ServedState withSelection(Selection s, long checkedMillis) {
    return new ServedState(status, pinned, pulled, s, executionProvider, descriptor, residentBytes, kvBudgetBytes, contextLength,
        loadSeconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, checkedMillis, updateError);
  }

  /** A variant pulled for {@code s}'s choice: the one the next load opens (its descriptor shown meanwhile). */
  ServedState withVariant(InstalledVariant v, Selection s) {
    return new ServedState(status, pinned, v, s, s.chosen().orElseThrow().executionProvider(), v.descriptor(), residentBytes, kvBudgetBytes,
        contextLength, loadSeconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, lastCheckedMillis, updateError);
  }

  /** Out of memory (evicted, expired, unloaded): a loaded model is no longer; loading or failed stay as they are. */
  ServedState leftMemory() {
    return status == ModelState.MODEL_STATE_LOADED ? withStatus(ModelState.MODEL_STATE_NOT_LOADED) : this;
  }

  /** The package being opened: its descriptor is shown while it loads, and when it does not fit. */
  ServedState withDescriptor(VariantDescriptor d) {
    return new ServedState(status, pinned, pulled, selection, executionProvider, d, residentBytes, kvBudgetBytes, contextLength,
        loadSeconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, lastCheckedMillis, updateError);
  }

  /** What the model now in memory is, and how long it took to load. */
  ServedState withLoaded(LoadedModel m, double seconds) {
    return new ServedState(status, pinned, pulled, selection, executionProvider, m.model.descriptor(), m.model.residentBytes(), m.kvBudgetBytes,
        m.contextLength, seconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, lastCheckedMillis, updateError);
  }

  /** A load that succeeded: loaded, failures forgotten. */
  ServedState succeeded(double seconds) {
    return new ServedState(ModelState.MODEL_STATE_LOADED, pinned, pulled, selection, executionProvider, descriptor, residentBytes, kvBudgetBytes,
        contextLength, seconds, null, 0, 0, true, lastCheckedMillis, updateError);
  }

  /** A load that failed with {@code cause}, ending at {@code nowNanos}. */
  ServedState failed(Throwable cause, long nowNanos, double seconds) {
    return new ServedState(ModelState.MODEL_STATE_FAILED, pinned, pulled, selection, executionProvider, descriptor, residentBytes,
        kvBudgetBytes, contextLength, seconds, cause, consecutiveFailures + 1, nowNanos, everLoaded, lastCheckedMillis, updateError);
  }

  /** The last failure no longer stands (a new release may load). */
  ServedState withoutFailure() {
    return new ServedState(status, pinned, pulled, selection, executionProvider, descriptor, residentBytes, kvBudgetBytes, contextLength,
        loadSeconds, null, consecutiveFailures, lastFailureNanos, everLoaded, lastCheckedMillis, updateError);
  }

  /** A tag check's outcome: when the tag was read ({@code 0} = not read: keep the last time) and its error ("" = none). */
  ServedState checked(long checkedMillis, String error) {
    return new ServedState(status, pinned, pulled, selection, executionProvider, descriptor, residentBytes, kvBudgetBytes, contextLength,
        loadSeconds, lastFailure, consecutiveFailures, lastFailureNanos, everLoaded, checkedMillis > 0 ? checkedMillis : lastCheckedMillis,
        error);
  }
}
