package dev.edgelm.engine;

/**
 * How a {@link BatchDecoder} is laid out.
 *
 * @param maxRows KV rows (concurrent sequences) the batch holds; a decode step runs at most this
 *     many (the daemon's {@code generation.max_batch})
 * @param prefixCacheBytes heap bytes for finished sequences' KV blocks (0 turns the block cache
 *     off; reuse of a resident row's prefix stays on)
 * @param prefixBlockTokens positions per cached block: a prompt reuses whole blocks only
 */
public record BatchOptions(int maxRows, long prefixCacheBytes, int prefixBlockTokens) {
  public static final int DEFAULT_MAX_ROWS = 8;
  public static final long DEFAULT_PREFIX_CACHE_BYTES = 256L << 20;
  public static final int DEFAULT_PREFIX_BLOCK_TOKENS = 16;
  /** The most rows one batch may hold. */
  public static final int MAX_ROWS = 256;

  public static final BatchOptions DEFAULTS = new BatchOptions(DEFAULT_MAX_ROWS, DEFAULT_PREFIX_CACHE_BYTES, DEFAULT_PREFIX_BLOCK_TOKENS);

  /** @throws IllegalArgumentException naming the setting that is out of range */
  public BatchOptions {
    if (maxRows < 1 || maxRows > MAX_ROWS) {
      throw new IllegalArgumentException("maxRows must be in [1, " + MAX_ROWS + "], got " + maxRows);
    }
    if (prefixCacheBytes < 0) {
      throw new IllegalArgumentException("prefixCacheBytes must be >= 0 (0 = no block cache), got " + prefixCacheBytes);
    }
    if (prefixBlockTokens < 1) {
      throw new IllegalArgumentException("prefixBlockTokens must be >= 1, got " + prefixBlockTokens);
    }
  }

  public BatchOptions withMaxRows(int rows) {
    return new BatchOptions(rows, prefixCacheBytes, prefixBlockTokens);
  }

  public BatchOptions withPrefixCacheBytes(long bytes) {
    return new BatchOptions(maxRows, bytes, prefixBlockTokens);
  }

  public BatchOptions withPrefixBlockTokens(int tokens) {
    return new BatchOptions(maxRows, prefixCacheBytes, tokens);
  }
}
