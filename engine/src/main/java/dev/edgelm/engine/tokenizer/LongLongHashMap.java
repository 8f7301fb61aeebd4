package dev.edgelm.engine.tokenizer;

import java.util.Arrays;

/**
 * Open-addressing hash map from {@code long} keys to non-negative {@code long} values, without
 * boxing: the merge tables are probed a few times per input character, so a {@code HashMap<Long,
 * Long>} would spend most of encoding allocating.
 *
 * <p>Filled by one thread while a tokenizer loads and only read afterwards; safe to share once
 * published through a final field.
 */
final class LongLongHashMap {
  /** Returned by {@link #get(long)} for an absent key. */
  static final long ABSENT = -1L;

  private static final long FREE = Long.MIN_VALUE;

  private long[] keys;
  private long[] values;
  private int size;

  LongLongHashMap(int expectedSize) {
    int capacity = Integer.highestOneBit(Math.max(4, expectedSize) * 2 - 1) << 1;
    keys = new long[capacity];
    values = new long[capacity];
    Arrays.fill(keys, FREE);
  }

  int size() {
    return size;
  }

  /** The value of {@code key}, or {@link #ABSENT}. */
  long get(long key) {
    int mask = keys.length - 1;
    for (int i = slot(key, mask); ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return values[i];
      }
      if (k == FREE) {
        return ABSENT;
      }
    }
  }

  /** Stores {@code value} (non-negative) unless {@code key} is present; returns whether it was stored. */
  boolean putIfAbsent(long key, long value) {
    if (key == FREE || value < 0) {
      throw new IllegalArgumentException("key " + key + " value " + value);
    }
    if (2 * (size + 1) > keys.length) {
      grow();
    }
    int mask = keys.length - 1;
    for (int i = slot(key, mask); ; i = (i + 1) & mask) {
      long k = keys[i];
      if (k == key) {
        return false;
      }
      if (k == FREE) {
        keys[i] = key;
        values[i] = value;
        size++;
        return true;
      }
    }
  }

  private void grow() {
    long[] oldKeys = keys;
    long[] oldValues = values;
    keys = new long[oldKeys.length * 2];
    values = new long[oldKeys.length * 2];
    Arrays.fill(keys, FREE);
    size = 0;
    for (int i = 0; i < oldKeys.length; i++) {
      if (oldKeys[i] != FREE) {
        putIfAbsent(oldKeys[i], oldValues[i]);
      }
    }
  }

  private static int slot(long key, int mask) {
    long h = key * 0x9E3779B97F4A7C15L;
    return (int) (h ^ (h >>> 32)) & mask;
  }
}
