/**
 * Runs an edgelm model package: load it ({@link dev.edgelm.engine.ModelPackage}), open an ONNX
 * Runtime decoder session with a KV cache, sample, generate, and score text.
 *
 * <p>Errors are {@link dev.edgelm.engine.EngineException}s: one sealed hierarchy whose subtypes say
 * whose fault it is (the package, the request, or the runtime).
 */
package dev.edgelm.engine;
