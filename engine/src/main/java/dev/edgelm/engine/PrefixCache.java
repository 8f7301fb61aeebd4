package dev.edgelm.engine;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;

/**
 * KV blocks of finished sequences, kept for the next prompt that starts the same way (vLLM's
 * automatic prefix caching, restored by copy rather than shared by reference): a sequence's cache
 * is cut into blocks of {@code blockTokens} positions, and block i is keyed by a chained hash —
 * SHA-256 of block i-1's key and block i's token ids — so a key names the whole prefix up to the
 * end of its block, and a prompt finds its longest cached prefix by walking its own chain until
 * the first miss. Only full blocks are cached.
 *
 * <p>Values are the block's keys and values of every layer ({@link KvBlock#read} layout) on the
 * heap, weighed by bytes in a Caffeine cache of {@code maxBytes}; eviction is Caffeine's
 * (size-aware W-TinyLFU). An evicted block makes the blocks after it unreachable until they are
 * evicted in turn; they hold memory meanwhile, which the weight bound still caps.
 *
 * <p>Threading: Caffeine's cache is thread-safe; maintenance runs on the caller's thread (no
 * background executor), so a test sees evictions as they happen.
 */
final class PrefixCache {
  /** A block's chained hash: the first 128 bits of SHA-256 over the parent's key and the block's ids. */
  record BlockKey(long high, long low) {}

  private final int blockTokens;
  private final Cache<BlockKey, float[]> blocks;

  PrefixCache(int blockTokens, long maxBytes) {
    this.blockTokens = blockTokens;
    this.blocks = Caffeine.newBuilder()
        .maximumWeight(maxBytes)
        .weigher((BlockKey k, float[] v) -> (int) Math.min(Integer.MAX_VALUE, (long) v.length * Float.BYTES))
        .executor(Runnable::run)
        .build();
  }

  int blockTokens() {
    return blockTokens;
  }

  /** Keys of the first {@code count / blockTokens} full blocks of {@code tokens[0, count)}. */
  List<BlockKey> chain(int[] tokens, int count) {
    int full = count / blockTokens;
    List<BlockKey> keys = new ArrayList<>(full);
    MessageDigest sha = sha256();
    ByteBuffer bytes = ByteBuffer.allocate(16 + 4 * blockTokens);
    long high = 0;
    long low = 0;
    for (int b = 0; b < full; b++) {
      bytes.clear();
      bytes.putLong(high).putLong(low);
      for (int t = b * blockTokens; t < (b + 1) * blockTokens; t++) {
        bytes.putInt(tokens[t]);
      }
      ByteBuffer digest = ByteBuffer.wrap(sha.digest(bytes.array()));
      high = digest.getLong();
      low = digest.getLong();
      keys.add(new BlockKey(high, low));
    }
    return keys;
  }

  /** The cached blocks of {@code keys}, in order, up to the first one not cached. */
  List<float[]> longestPrefix(List<BlockKey> keys) {
    List<float[]> found = new ArrayList<>();
    for (BlockKey k : keys) {
      float[] v = blocks.getIfPresent(k);
      if (v == null) {
        break;
      }
      found.add(v);
    }
    return found;
  }

  /** Writes {@code found} ({@link #longestPrefix}) into positions {@code [0, found.size() · blockTokens)} of {@code row}. */
  void restore(List<float[]> found, KvBlock block, int row) {
    for (int b = 0; b < found.size(); b++) {
      block.write(row, b * blockTokens, blockTokens, found.get(b));
    }
  }

  /** Stores the full blocks of {@code row}'s first {@code count} positions ({@code tokens[0, count)}) not cached yet. */
  void remember(KvBlock block, int row, int[] tokens, int count) {
    List<BlockKey> keys = chain(tokens, count);
    for (int b = 0; b < keys.size(); b++) {
      if (blocks.getIfPresent(keys.get(b)) == null) {
        float[] data = new float[block.floatsPerPosition() * blockTokens];
        block.read(row, b * blockTokens, blockTokens, data);
        blocks.put(keys.get(b), data);
      }
    }
  }

  /** Bytes held now. */
  long bytes() {
    return blocks.policy().eviction().orElseThrow().weightedSize().orElse(0);
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException("the JDK lacks SHA-256", e);
    }
  }
}
