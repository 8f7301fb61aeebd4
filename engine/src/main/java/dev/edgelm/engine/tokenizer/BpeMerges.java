package dev.edgelm.engine.tokenizer;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The merge step shared by both BPE flavours: given a sequence of symbol ids, repeatedly replace
 * the adjacent pair with the best (lowest) rank by the id it merges into, leftmost first among
 * equal ranks, until no adjacent pair has a merge.
 *
 * <p>This one rule covers both tokenizers. GPT-2 and Hugging Face BPE rank a pair by its line in
 * the merges list. SentencePiece BPE as llama2.c and llama.cpp run it merges the pair whose
 * concatenation is the highest-scoring vocabulary piece; ranking every split of every piece by
 * that piece's score (equal scores, equal rank) turns it into the same table. Ties go to the
 * leftmost pair in all three reference implementations.
 *
 * <p>Symbols form a doubly linked list over the input array and candidate pairs sit in a binary
 * heap keyed by {@code rank << 32 | leftPosition}, so a sequence of n symbols costs O(n log n):
 * SentencePiece encodes a whole text as one sequence, which made the quadratic scan of llama2.c
 * unusable on a corpus. Heap entries are not removed when a merge invalidates them; a popped
 * entry is used only if the pair now at its position still has the popped rank. That check is
 * enough: every current pair has an entry with its current key, so a popped entry that passes it is
 * the best current pair.
 *
 * <p>Immutable after construction and safe to share between threads; {@link #apply} allocates its
 * working state per call.
 */
final class BpeMerges {
  private final LongLongHashMap pairs;

  private BpeMerges(LongLongHashMap pairs) {
    this.pairs = pairs;
  }

  /** Collects merges while a tokenizer loads. Not thread-safe. */
  static final class Builder {
    private final LongLongHashMap pairs;

    Builder(int expectedMerges) {
      pairs = new LongLongHashMap(expectedMerges);
    }

    /**
     * Adds the merge {@code (left, right) -> merged} with {@code rank} (0 is applied first). A pair
     * that is already present keeps its earlier, better rank.
     */
    Builder add(int left, int right, int rank, int merged) {
      if (left < 0 || right < 0 || rank < 0 || merged < 0) {
        throw new IllegalArgumentException("merge " + left + " " + right + " -> " + merged + " rank " + rank);
      }
      pairs.putIfAbsent(pairKey(left, right), (long) rank << 32 | merged);
      return this;
    }

    BpeMerges build() {
      return new BpeMerges(pairs);
    }
  }

  /**
   * Merges ranked by their position in {@code pairs} (merges.txt, tokenizer.json's model.merges):
   * each {@code {left, right}} merges into the piece {@code left + right}.
   *
   * @throws dev.edgelm.engine.ModelPackageException naming {@code file} when a piece is not in {@code vocab}
   */
  static BpeMerges ranked(List<String[]> pairs, Map<String, Integer> vocab, Path file) {
    Builder merges = new Builder(pairs.size());
    for (int rank = 0; rank < pairs.size(); rank++) {
      String[] pair = pairs.get(rank);
      Integer left = vocab.get(pair[0]);
      Integer right = vocab.get(pair[1]);
      Integer merged = vocab.get(pair[0] + pair[1]);
      if (left == null || right == null || merged == null) {
        throw TokenizerFiles.corrupt(
            file,
            "has merge " + (rank + 1) + " (" + TokenizerFiles.quote(pair[0]) + " + " + TokenizerFiles.quote(pair[1])
                + ") whose pieces are not all in the vocabulary; the vocabulary and merges do not belong together");
      }
      merges.add(left, right, rank, merged);
    }
    return merges.build();
  }

  /**
   * Merges {@code ids[0..length)} in place and returns the new length; the merged sequence is in
   * {@code ids[0..newLength)}.
   */
  int apply(int[] ids, int length) {
    if (length < 2) {
      return length;
    }
    int[] prev = new int[length];
    int[] next = new int[length];
    for (int i = 0; i < length; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < length ? i + 1 : -1;
    }
    LongHeap candidates = new LongHeap(length);
    for (int i = 0; i + 1 < length; i++) {
      offer(candidates, ids, i, i + 1);
    }
    while (!candidates.isEmpty()) {
      long top = candidates.poll();
      int rank = (int) (top >>> 32);
      int left = (int) top;
      int right = next[left];
      if (ids[left] < 0 || right < 0) {
        continue;
      }
      long merge = pairs.get(pairKey(ids[left], ids[right]));
      if (merge == LongLongHashMap.ABSENT || (int) (merge >>> 32) != rank) {
        continue;
      }
      ids[left] = (int) merge;
      ids[right] = -1;
      next[left] = next[right];
      if (next[right] >= 0) {
        prev[next[right]] = left;
      }
      if (prev[left] >= 0) {
        offer(candidates, ids, prev[left], left);
      }
      if (next[left] >= 0) {
        offer(candidates, ids, left, next[left]);
      }
    }
    int kept = 0;
    for (int i = 0; i >= 0; i = next[i]) {
      ids[kept++] = ids[i];
    }
    return kept;
  }

  private void offer(LongHeap candidates, int[] ids, int left, int right) {
    long merge = pairs.get(pairKey(ids[left], ids[right]));
    if (merge != LongLongHashMap.ABSENT) {
      candidates.add((merge >>> 32) << 32 | left);
    }
  }

  private static long pairKey(int left, int right) {
    return (long) left << 32 | (right & 0xFFFFFFFFL);
  }

  /** A binary min-heap of longs. */
  private static final class LongHeap {
    private long[] heap;
    private int size;

    LongHeap(int capacity) {
      heap = new long[Math.max(4, capacity)];
    }

    boolean isEmpty() {
      return size == 0;
    }

    void add(long value) {
      if (size == heap.length) {
        heap = Arrays.copyOf(heap, size * 2);
      }
      int i = size++;
      while (i > 0) {
        int parent = (i - 1) >>> 1;
        if (heap[parent] <= value) {
          break;
        }
        heap[i] = heap[parent];
        i = parent;
      }
      heap[i] = value;
    }

    long poll() {
      long top = heap[0];
      long last = heap[--size];
      int i = 0;
      int half = size >>> 1;
      while (i < half) {
        int child = 2 * i + 1;
        if (child + 1 < size && heap[child + 1] < heap[child]) {
          child++;
        }
        if (last <= heap[child]) {
          break;
        }
        heap[i] = heap[child];
        i = child;
      }
      heap[i] = last;
      return top;
    }
  }
}
