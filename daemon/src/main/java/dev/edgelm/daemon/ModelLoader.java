package dev.edgelm.daemon;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;

/**
 * Turns a model package into a {@link ServableModel}. {@link #ONNX_RUNTIME} is what the daemon uses;
 * tests inject in-process fakes.
 *
 * <p>Called on a loader thread, never on an event loop; may block for as long as loading takes.
 * Throws {@link dev.edgelm.engine.ModelPackageException} for a package it cannot run.
 */
@FunctionalInterface
public interface ModelLoader {
  ServableModel load(ModelPackage pkg, SessionSettings settings);

  /** Opens an ONNX Runtime session over the package ({@link DecoderModel#load}). */
  ModelLoader ONNX_RUNTIME = (pkg, settings) -> ServableModel.of(DecoderModel.load(pkg, settings));
}
