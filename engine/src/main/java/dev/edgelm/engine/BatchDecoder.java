package dev.edgelm.engine;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * Many sequences of one {@link DecoderModel} decoded together: the engine's primitive for an
 * iteration-level scheduler (one per loaded model), which decides between steps which sequences
 * join, leave, pause or prefill.
 *
 * <p>Design. A batch owns {@code maxRows} KV rows in one {@link KvBlock} ({@code [rows, kv_heads,
 * capacity, head_dim]} per layer). {@link #step} runs one ONNX Runtime call for the rows it is
 * given, each row one new token at its own length (GroupQueryAttention's per-row {@code seqlens_k};
 * {@code GqaRaggedBatchTest} proves ORT 1.28's CPU kernel keeps the rows apart). The call covers
 * the consecutive rows from the lowest to the highest index given; a row in between that is not
 * given (finished, paused, prefilling: a <em>hole</em>) is fed a dummy token at its own length —
 * past everything it holds, so nothing of it or of any other row is copied or disturbed, and the
 * slot is overwritten when that row appends next — and its output is dropped. {@link #admit} takes
 * the lowest free row, which keeps the span short. {@link #prefillChunk} runs at most {@code n}
 * prompt tokens of one row through a one-row view of the same memory, so a scheduler interleaves a
 * newcomer's prompt with the others' decode steps and bounds their inter-token latency by one
 * chunk.
 *
 * <p>Prefix reuse. A released row keeps its tokens and cache until it is admitted again. A new
 * prompt reuses the longest prefix it shares with any row (llama.cpp's slots): a free row in place,
 * a row in use by copying its positions into the new row; and when the {@linkplain PrefixCache
 * block cache} holds a longer prefix (whole blocks of finished sequences, keyed by chained hashes,
 * as vLLM's automatic prefix caching) it is restored by copy. At least the prompt's last token is
 * always run, for its logits. {@link Row#cachedPromptTokens()} tells how many were reused.
 *
 * <p>Threading: not thread-safe. One thread (the scheduler's) calls every method, including
 * {@link Row#close()}. The batch holds its model open ({@link DecoderModel#close()} waits for it).
 *
 * <p>Errors: {@link #admit}, {@link #prefillChunk} and {@link #step} throw
 * {@link InvalidRequestException} for token ids outside the vocabulary or past the context, and
 * {@link IllegalStateException} / {@link IllegalArgumentException} for calls out of protocol (no
 * free row, a released row, a row given twice); {@link RuntimeFailureException} when ONNX Runtime
 * fails — the rows of that call are then unchanged in length.
 */
public final class BatchDecoder implements AutoCloseable {
  private final DecoderModel model;
  private final int context;
  private final int vocab;
  private final KvBlock block;
  private final BatchRun run;
  private final PrefixCache prefixes;
  private final Row[] rows;
  private boolean closed;

  private BatchDecoder(DecoderModel model, BatchOptions options) {
    DecoderIo io = model.io();
    this.model = model;
    this.context = model.contextLength();
    this.vocab = io.vocabSize();
    this.block = new KvBlock(model.env(), io.kvHeads(), io.headDim(), options.maxRows(), io.kvCapacity());
    this.run = new BatchRun(model, options.maxRows());
    this.prefixes = options.prefixCacheBytes() > 0 ? new PrefixCache(options.prefixBlockTokens(), options.prefixCacheBytes()) : null;
    this.rows = new Row[options.maxRows()];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = new Row(i);
    }
  }

  /**
   * A batch over {@code model}'s session.
   *
   * @throws IllegalArgumentException when the model's package has no batch-capable graph
   *     ({@link DecoderModel#supportsBatchedDecode()}); such models decode one sequence per call
   */
  public static BatchDecoder open(DecoderModel model, BatchOptions options) {
    Objects.requireNonNull(options, "options");
    if (!model.supportsBatchedDecode()) {
      throw new IllegalArgumentException(model.modelPackage().dir() + " has no batch-capable graph (graph.ragged_batch); "
          + "decode its sequences one per call (DecoderModel.newSequence), or re-emit the package with this edgelm");
    }
    model.retain();
    try {
      return new BatchDecoder(model, options);
    } catch (RuntimeException | Error e) {
      model.sequenceClosed();
      throw e;
    }
  }

  /** Rows neither admitted nor closed. */
  public int freeRows() {
    int free = 0;
    for (Row r : rows) {
      free += r.inUse ? 0 : 1;
    }
    return free;
  }

  /** Bytes of KV cache the rows hold now, and of the block cache (for a cache's weigher). */
  public long residentBytes() {
    return block.bytes() + (prefixes == null ? 0 : prefixes.bytes());
  }

  /**
   * Takes a free row for {@code prompt}, filled with the longest prefix of it that a row or the
   * block cache holds (at most all but the last token); prefill the rest with {@link #prefillChunk}.
   *
   * @throws InvalidRequestException for an empty prompt, one that fills the context, or ids outside the vocabulary
   * @throws IllegalStateException when no row is free ({@link #freeRows()})
   */
  public Row admit(int[] prompt) {
    checkOpen();
    if (prompt.length == 0 || prompt.length >= context) {
      throw new InvalidRequestException("prompt has " + prompt.length + " tokens; it needs 1 to " + (context - 1)
          + " (the model's context is " + context + ")");
    }
    checkIds(prompt);
    int limit = prompt.length - 1;
    Row freeBest = null;
    int freeShared = -1;
    Row usedBest = null;
    int usedShared = 0;
    for (Row r : rows) {
      int shared = Math.min(limit, r.sharedPrefix(prompt));
      if (!r.inUse && shared > freeShared) {
        freeBest = r;
        freeShared = shared;
      } else if (r.inUse && shared > usedShared) {
        usedBest = r;
        usedShared = shared;
      }
    }
    if (freeBest == null) {
      throw new IllegalStateException("no free row: all " + rows.length + " are in use; release one or wait");
    }
    List<float[]> cached = prefixes == null ? List.of() : prefixes.longestPrefix(prefixes.chain(prompt, limit));
    int fromCache = cached.size() * (prefixes == null ? 0 : prefixes.blockTokens());
    Row row = freeBest;
    int reused = freeShared;
    if (Math.max(usedShared, fromCache) > freeShared) {
      row = lowestFree();
      reused = Math.max(usedShared, fromCache);
      block.ensureCapacity(reused, filled());
      if (usedShared >= fromCache) {
        block.copyPositions(usedBest.index, row.index, usedShared);
      } else {
        prefixes.restore(cached, block, row.index);
      }
    }
    row.inUse = true;
    row.length = reused;
    row.resident = reused;
    System.arraycopy(prompt, 0, row.tokens, 0, reused);
    row.cachedPromptTokens = reused;
    return row;
  }

  /**
   * Runs the next at most {@code n} tokens of {@code prompt} that {@code row} does not hold yet, in
   * one call on that row alone. Returns whether the row now holds the whole prompt; then
   * {@link Row#logits()} predicts the token after it.
   *
   * @throws IllegalArgumentException when the row's tokens are not a prefix of {@code prompt}, or n < 1
   */
  public boolean prefillChunk(Row row, int[] prompt, int n) {
    checkRow(row);
    if (n < 1) {
      throw new IllegalArgumentException("a prefill chunk needs at least one token, got " + n);
    }
    if (prompt.length > context || !Arrays.equals(row.tokens, 0, row.length, prompt, 0, row.length)) {
      throw new IllegalArgumentException("row " + row.index + " holds " + row.length + " tokens that are not a prefix of this "
          + prompt.length + "-token prompt");
    }
    if (row.length == prompt.length) {
      return true;
    }
    int start = row.length;
    int count = Math.min(n, prompt.length - start);
    checkIds(Arrays.copyOfRange(prompt, start, start + count));
    block.ensureCapacity(start + count, filled());
    for (int t = 0; t < count; t++) {
      run.token(t, prompt[start + t], start + t);
    }
    run.seqlen(0, start + count - 1);
    run.run(block, row.index, 1, count, start + count);
    run.logits(0, row.logits);
    System.arraycopy(prompt, start, row.tokens, start, count);
    row.length = start + count;
    row.resident = row.length;
    return row.length == prompt.length;
  }

  /**
   * Appends {@code tokens[i]} to {@code batch.get(i)} for every i in one call; afterwards each
   * row's {@link Row#logits()} predicts its next token. Rows not given keep their caches.
   *
   * @throws IllegalArgumentException when the lists differ in size, a row is given twice, or a row is empty
   * @throws InvalidRequestException when a row is full (its context) or a token is outside the vocabulary
   */
  public void step(List<Row> batch, int[] tokens) {
    checkOpen();
    if (batch.isEmpty() || batch.size() != tokens.length) {
      throw new IllegalArgumentException("a step needs one token per row, got " + batch.size() + " rows and " + tokens.length + " tokens");
    }
    checkIds(tokens);
    int first = rows.length;
    int last = -1;
    int[] feed = new int[rows.length];
    Arrays.fill(feed, -1);
    for (int i = 0; i < tokens.length; i++) {
      Row r = batch.get(i);
      checkRow(r);
      if (feed[r.index] >= 0) {
        throw new IllegalArgumentException("row " + r.index + " is given twice in one step");
      }
      if (r.length == 0) {
        throw new IllegalArgumentException("row " + r.index + " holds no tokens; prefill its prompt first");
      }
      if (r.length >= context) {
        throw new InvalidRequestException("row " + r.index + " holds " + r.length + " tokens, the model's whole context");
      }
      feed[r.index] = tokens[i];
      first = Math.min(first, r.index);
      last = Math.max(last, r.index);
    }
    int count = last - first + 1;
    int longest = 0;
    for (int i = first; i <= last; i++) {
      longest = Math.max(longest, Math.min(rows[i].length, block.maxCapacity() - 1) + 1);
    }
    block.ensureCapacity(longest, filled());
    for (int i = 0; i < count; i++) {
      Row r = rows[first + i];
      // A hole writes its dummy at its own length: past what it holds, overwritten when it appends. A hole holding a
      // whole context has no such slot; its last position is given up (resident) rather than another row's.
      int at = Math.min(r.length, block.capacity() - 1);
      run.token(i, Math.max(feed[r.index], 0), at);
      run.seqlen(i, at);
    }
    run.run(block, first, count, 1, longest);
    for (int i = 0; i < count; i++) {
      Row r = rows[first + i];
      if (feed[r.index] >= 0) {
        run.logits(i, r.logits);
        r.tokens[r.length++] = feed[r.index];
        r.resident = r.length;
      } else if (r.length >= block.capacity()) {
        r.resident = Math.min(r.resident, block.capacity() - 1);
      }
    }
  }

  private Row lowestFree() {
    for (Row r : rows) {
      if (!r.inUse) {
        return r;
      }
    }
    throw new IllegalStateException("no free row");
  }

  private int[] filled() {
    int[] f = new int[rows.length];
    for (int i = 0; i < rows.length; i++) {
      f[i] = Math.max(rows[i].length, rows[i].resident);
    }
    return f;
  }

  private void checkIds(int[] ids) {
    for (int id : ids) {
      if (id < 0 || id >= vocab) {
        throw new InvalidRequestException("token id " + id + " is outside the vocabulary [0, " + vocab + ")");
      }
    }
  }

  private void checkRow(Row row) {
    checkOpen();
    if (row.owner() != this || !row.inUse) {
      throw new IllegalStateException("row " + row.index + " is not admitted in this batch");
    }
  }

  private void checkOpen() {
    if (closed) {
      throw new IllegalStateException("batch is closed");
    }
  }

  /** Releases the KV memory and the model. Rows become unusable. Idempotent. */
  @Override
  public void close() {
    if (!closed) {
      closed = true;
      block.close();
      model.sequenceClosed();
    }
  }

  /**
   * One KV row of the batch, admitted for one sequence: the scheduler's handle for it. Close it
   * when the sequence ends; its tokens and cache stay for prefix reuse until the row is admitted
   * again.
   */
  public final class Row implements AutoCloseable {
    private final int index;
    private final int[] tokens = new int[context];
    private final float[] logits = new float[vocab];
    private boolean inUse;
    private int length;
    /** Positions whose cache is valid for reuse (below {@code length} only for a full row that sat out a step). */
    private int resident;
    private int cachedPromptTokens;

    private Row(int index) {
      this.index = index;
    }

    private BatchDecoder owner() {
      return BatchDecoder.this;
    }

    /** Its slot in the batch (rows with nearby indices share a step cheaply). */
    public int index() {
      return index;
    }

    /** Tokens the row holds (prompt so far, then every token stepped). */
    public int length() {
      return length;
    }

    /** Prompt tokens taken from another row or the block cache at {@link #admit}, not run again. */
    public int cachedPromptTokens() {
      return cachedPromptTokens;
    }

    /** The logits after the last call that ran this row; overwritten by the next one (copy to keep). */
    public float[] logits() {
      return logits;
    }

    private int sharedPrefix(int[] prompt) {
      int n = Math.min(resident, prompt.length);
      int mismatch = Arrays.mismatch(tokens, 0, n, prompt, 0, n);
      return mismatch < 0 ? n : mismatch;
    }

    /** Ends its sequence: the row is free, its blocks go to the block cache. Idempotent. */
    @Override
    public void close() {
      if (inUse && !closed) {
        inUse = false;
        length = resident;
        if (prefixes != null) {
          prefixes.remember(block, index, tokens, resident);
        }
      }
    }
  }
}
