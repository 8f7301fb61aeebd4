package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Selection;
import dev.edgelm.proto.v1.ModelInfo;
import dev.edgelm.proto.v1.VariantDescriptor;

/** Builds the {@code ModelInfo} of a served model. */
final class ModelInfos {
  private ModelInfos() {}

  /** The model's info from one snapshot of its state (admission counters are live). */
  static ModelInfo of(ServedModel sm) {
    ServedState s = sm.state();
    ModelInfo.Builder b = ModelInfo.newBuilder()
        .setName(sm.name)
        .setSource(sm.source(s))
        .setState(s.status())
        .setPinned(s.pinned())
        .setConfigured(sm.configured)
        .setResidentBytes(s.residentBytes())
        .setKvBudgetBytes(s.kvBudgetBytes())
        .setContextLength(s.contextLength())
        .setMaxConcurrent(sm.admission.maxConcurrent())
        .setMaxQueued(sm.admission.maxQueued())
        .setActiveStreams(sm.admission.running())
        .setQueuedStreams(sm.admission.queued())
        .setLoadSeconds(s.loadSeconds());
    VariantDescriptor d = s.descriptor();
    if (d != null) {
      b.setVariantDescriptor(d);
    }
    Selection selection = s.selection();
    if (selection != null) {
      b.setSelection(selection.toProto());
    }
    b.setLastCheckedUnixMs(s.lastCheckedMillis()).setUpdateError(s.updateError());
    Throwable failure = s.lastFailure();
    if (failure != null) {
      b.setError(StatusMapper.map(failure).message());
    }
    return b.build();
  }
}
