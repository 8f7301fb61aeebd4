package dev.edgelm.compressor.kron;

import java.util.Arrays;

/**
 * Dense square linear assignment: the permutation {@code x} minimising {@code Σ_i cost[i, x[i]]},
 * by the shortest-augmenting-path method of Jonker and Volgenant (1987).
 *
 * <p>Three phases, all maintaining column prices {@code v} such that reduced costs
 * {@code cost[i, j] − v[j]} of assigned pairs are row minima:
 * <ol>
 *   <li>column reduction: each column takes its cheapest row (columns in reverse order), and rows
 *       assigned exactly once transfer their slack to their column's price;
 *   <li>augmenting row reduction, twice over the free rows: a free row takes its cheapest column,
 *       lowering that column's price by the gap to its second cheapest, and evicts the previous owner
 *       (which is processed again) — this assigns most rows cheaply;
 *   <li>augmentation: for each row still free, a Dijkstra search over reduced costs finds the
 *       cheapest alternating path to a free column; prices of the columns it settled are updated and
 *       the path is flipped.
 * </ol>
 * Worst case O(n³); far less on the dense similarity matrices of permutation search (n up to a few
 * thousand). Not thread-safe; allocates O(n) besides the cost matrix, which it does not modify.
 */
final class LinearAssignment {
  private final double[] cost;
  private final int n;
  private final int[] rowOf; // column → row, -1 when free
  private final int[] colOf; // row → column, -1 when free
  private final double[] price;

  private LinearAssignment(double[] cost, int n) {
    this.cost = cost;
    this.n = n;
    this.rowOf = new int[n];
    this.colOf = new int[n];
    this.price = new double[n];
    Arrays.fill(rowOf, -1);
    Arrays.fill(colOf, -1);
  }

  /**
   * Solves the problem for {@code cost} [n, n] row-major.
   *
   * @return for each row the column assigned to it
   */
  static int[] solve(double[] cost, int n) {
    if (cost.length != (long) n * n) {
      throw new IllegalArgumentException("cost matrix has " + cost.length + " entries, expected " + n + "²");
    }
    for (double c : cost) {
      if (!Double.isFinite(c)) {
        throw new IllegalArgumentException("assignment costs must be finite");
      }
    }
    if (n == 0) {
      return new int[0];
    }
    LinearAssignment lap = new LinearAssignment(cost, n);
    int[] free = lap.columnReduction();
    int freeCount = free.length;
    for (int pass = 0; pass < 2 && freeCount > 0; pass++) {
      freeCount = lap.augmentingRowReduction(free, freeCount);
    }
    for (int f = 0; f < freeCount; f++) {
      lap.augment(free[f]);
    }
    return lap.colOf.clone();
  }

  /** Phase 1; returns the rows left free. */
  private int[] columnReduction() {
    int[] matches = new int[n];
    for (int j = n - 1; j >= 0; j--) {
      int best = 0;
      double min = cost[j];
      for (int i = 1; i < n; i++) {
        double c = cost[i * n + j];
        if (c < min) {
          min = c;
          best = i;
        }
      }
      price[j] = min;
      if (++matches[best] == 1) {
        colOf[best] = j;
        rowOf[j] = best;
      }
    }
    int[] free = new int[n];
    int count = 0;
    for (int i = 0; i < n; i++) {
      if (matches[i] == 0) {
        free[count++] = i;
      } else if (matches[i] == 1) {
        // Reduction transfer: the row's slack to its second-best column moves into its column's price.
        int own = colOf[i];
        double min = Double.POSITIVE_INFINITY;
        int base = i * n;
        for (int j = 0; j < n; j++) {
          if (j != own) {
            min = Math.min(min, cost[base + j] - price[j]);
          }
        }
        if (n > 1) {
          price[own] -= min;
        }
      }
    }
    return Arrays.copyOf(free, count);
  }

  /** Phase 2 (one pass); rewrites {@code free} and returns how many rows remain free. */
  private int augmentingRowReduction(int[] free, int count) {
    int k = 0;
    int remaining = 0;
    // Each eviction that lowers a price strictly makes progress; the guard only stops pathological float loops.
    long guard = 4L * n * n + 16;
    while (k < count && guard-- > 0) {
      int i = free[k++];
      int base = i * n;
      double first = cost[base] - price[0];
      int firstCol = 0;
      double second = Double.POSITIVE_INFINITY;
      int secondCol = -1;
      for (int j = 1; j < n; j++) {
        double h = cost[base + j] - price[j];
        if (h < second) {
          if (h >= first) {
            second = h;
            secondCol = j;
          } else {
            second = first;
            secondCol = firstCol;
            first = h;
            firstCol = j;
          }
        }
      }
      int col = firstCol;
      int evicted = rowOf[col];
      boolean strict = first < second;
      if (strict) {
        price[col] -= second - first;
      } else if (evicted >= 0 && secondCol >= 0) {
        col = secondCol;
        evicted = rowOf[col];
      }
      if (evicted >= 0) {
        colOf[evicted] = -1;
      }
      colOf[i] = col;
      rowOf[col] = i;
      if (evicted >= 0) {
        if (strict) {
          free[--k] = evicted;
        } else {
          free[remaining++] = evicted;
        }
      }
    }
    // Rows not reached because of the guard stay free.
    while (k < count) {
      free[remaining++] = free[k++];
    }
    return remaining;
  }

  /** Phase 3 for one free row: shortest augmenting path over reduced costs, then flip it. */
  private void augment(int start) {
    double[] dist = new double[n];
    int[] pred = new int[n];
    int[] cols = new int[n];
    int startBase = start * n;
    for (int j = 0; j < n; j++) {
      dist[j] = cost[startBase + j] - price[j];
      pred[j] = start;
      cols[j] = j;
    }
    // cols[0, low) settled; cols[low, up) at the current minimum, to scan; cols[up, n) unreached.
    int low = 0;
    int up = 0;
    int last = 0;
    double min = 0;
    int end = -1;
    while (end < 0) {
      if (up == low) {
        last = low;
        min = dist[cols[up++]];
        for (int k = up; k < n; k++) {
          int j = cols[k];
          double h = dist[j];
          if (h <= min) {
            if (h < min) {
              up = low;
              min = h;
            }
            cols[k] = cols[up];
            cols[up++] = j;
          }
        }
        for (int k = low; k < up; k++) {
          if (rowOf[cols[k]] < 0) {
            end = cols[k];
            break;
          }
        }
        if (end >= 0) {
          break;
        }
      }
      int j1 = cols[low++];
      int i = rowOf[j1];
      int base = i * n;
      double slack = cost[base + j1] - price[j1] - min;
      for (int k = up; k < n; k++) {
        int j = cols[k];
        double h = cost[base + j] - price[j] - slack;
        if (h < dist[j]) {
          dist[j] = h;
          pred[j] = i;
          if (h <= min) {
            if (rowOf[j] < 0) {
              end = j;
              break;
            }
            cols[k] = cols[up];
            cols[up++] = j;
          }
        }
      }
    }
    // Settled columns' prices move so that the new assignment stays a row minimum.
    for (int k = 0; k < last; k++) {
      int j = cols[k];
      price[j] += dist[j] - min;
    }
    int j = end;
    while (true) {
      int i = pred[j];
      rowOf[j] = i;
      int previous = colOf[i];
      colOf[i] = j;
      if (i == start) {
        break;
      }
      j = previous;
    }
  }
}
