/**
 * Runs an edgelm model package: load it ({@link dev.edgelm.engine.ModelPackage}), open an ONNX
 * Runtime decoder session with a KV cache, sample, generate, and score text.
 *
 * <p>Two ways to decode. One sequence per call: {@link dev.edgelm.engine.DecoderModel#newSequence()}
 * and {@link dev.edgelm.engine.Generation} on top (any package). Many sequences per call:
 * {@link dev.edgelm.engine.BatchDecoder} (packages whose descriptor says {@code graph.ragged_batch},
 * see {@link dev.edgelm.engine.DecoderModel#supportsBatchedDecode()}), the primitive of a
 * per-model iteration-level scheduler, which calls, from its one thread, between steps:
 *
 * <ul>
 *   <li>{@link dev.edgelm.engine.BatchDecoder#admit admit(promptIds)} when a row is free
 *       ({@code freeRows() > 0}): the row starts with the longest prompt prefix a row or the block
 *       cache holds ({@code row.cachedPromptTokens()}, for {@code Usage.cachedPromptTokens});
 *   <li>{@link dev.edgelm.engine.BatchDecoder#prefillChunk prefillChunk(row, promptIds, n)} once per
 *       iteration for a newcomer (n = the configured prefill chunk) until it returns true: the other
 *       streams wait at most one chunk between their tokens;
 *   <li>{@link dev.edgelm.engine.BatchDecoder#step step(rows, tokens)} with every stream that has a
 *       token to feed and a reader with room — a paused, cancelled or prefilling stream is simply
 *       left out (its row is a hole; nothing is copied), and each stream samples its next token from
 *       {@code row.logits()} with its own sampler;
 *   <li>{@code row.close()} when a stream ends (finish, cancel, deadline, disconnect): the row is
 *       free at once, and its tokens and cache stay for prefix reuse.
 * </ul>
 *
 * <p>Errors are {@link dev.edgelm.engine.EngineException}s: one sealed hierarchy whose subtypes say
 * whose fault it is (the package, the request, or the runtime).
 */
package dev.edgelm.engine;
