package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.Selection;
import dev.edgelm.proto.v1.ModelInfo;
import dev.edgelm.proto.v1.VariantDescriptor;

/** Builds the {@code ModelInfo} of a served model. */
final class ModelInfos {
  private ModelInfos() {}

  static ModelInfo of(ServedModel sm) {
    ModelInfo.Builder b = ModelInfo.newBuilder()
        .setName(sm.name)
        .setSource(sm.source())
        .setState(sm.state)
        .setPinned(sm.pinned)
        .setConfigured(sm.configured)
        .setResidentBytes(sm.residentBytes)
        .setKvBudgetBytes(sm.kvBudgetBytes)
        .setContextLength(sm.contextLength)
        .setMaxConcurrent(sm.admission.maxConcurrent())
        .setMaxQueued(sm.admission.maxQueued())
        .setActiveStreams(sm.admission.running())
        .setQueuedStreams(sm.admission.queued())
        .setLoadSeconds(sm.loadSeconds);
    VariantDescriptor d = sm.descriptor;
    if (d != null) {
      b.setVariantDescriptor(d);
    }
    Selection selection = sm.selection;
    if (selection != null) {
      b.setSelection(selection.toProto());
    }
    b.setLastCheckedUnixMs(sm.lastCheckedMillis).setUpdateError(sm.updateError);
    Throwable failure = sm.lastFailure;
    if (failure != null) {
      b.setError(StatusMapper.map(failure).message());
    }
    return b.build();
  }
}
