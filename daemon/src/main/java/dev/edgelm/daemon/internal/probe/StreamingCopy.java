package dev.edgelm.daemon.internal.probe;

/**
 * Measures memory bandwidth the way batch-1 decoding uses it: one thread streaming through buffers
 * much larger than the caches. Copies a 48 MiB array into another repeatedly for about 300 ms and
 * reports the best copy's (bytes read + bytes written) per second, so a noisy neighbour lowers the
 * figure only if it is there the whole time.
 *
 * <p>A program, not a benchmark harness: good to a few percent, which is all variant ranking needs.
 * Allocates 96 MiB of heap for the duration.
 */
final class StreamingCopy {
  static final int BYTES = 48 << 20;
  private static final long BUDGET_NANOS = 300_000_000L;
  private static final int MIN_ROUNDS = 5;

  private StreamingCopy() {}

  static double measure() {
    long[] a = new long[BYTES / 8];
    long[] b = new long[BYTES / 8];
    for (int i = 0; i < a.length; i += 512) {
      a[i] = i; // touch every page so the first copy does not count page faults
      b[i] = -i;
    }
    System.arraycopy(a, 0, b, 0, a.length); // warm-up
    long best = Long.MAX_VALUE;
    long start = System.nanoTime();
    int rounds = 0;
    while (rounds < MIN_ROUNDS || System.nanoTime() - start < BUDGET_NANOS) {
      long t0 = System.nanoTime();
      if ((rounds & 1) == 0) {
        System.arraycopy(a, 0, b, 0, a.length);
      } else {
        System.arraycopy(b, 0, a, 0, b.length);
      }
      best = Math.min(best, System.nanoTime() - t0);
      rounds++;
      if (rounds > 10_000) {
        break;
      }
    }
    // Keep the arrays observable so the copies cannot be elided.
    if (a[a.length - 1] == Long.MIN_VALUE && b[0] == Long.MIN_VALUE) {
      throw new AssertionError();
    }
    return 2.0 * BYTES / (Math.max(1, best) / 1e9);
  }
}
