package dev.edgelm.compressor.report;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.ToDoubleFunction;

/**
 * The Pareto frontier of points on two costs, both to be minimised (size and perplexity ratio, or
 * size and the negated decode speed): the points that no other point beats on one cost without
 * losing on the other.
 *
 * <p>A point is dominated when another is no worse on both costs and better on at least one; equal
 * points do not dominate each other, so duplicates on the frontier all stay on it. Points with a
 * non-finite cost (an unmeasured speed) take no part. O(n log n): sort by the first cost, then by
 * the second, and sweep keeping the best second cost seen so far.
 */
final class ParetoFrontier {
  private ParetoFrontier() {}

  /** The non-dominated points, ordered by {@code x} then {@code y} (the order a frontier line is drawn in). */
  static <T> List<T> minimizing(List<T> points, ToDoubleFunction<T> x, ToDoubleFunction<T> y) {
    List<T> sorted = new ArrayList<>();
    for (T p : points) {
      if (Double.isFinite(x.applyAsDouble(p)) && Double.isFinite(y.applyAsDouble(p))) {
        sorted.add(p);
      }
    }
    sorted.sort(Comparator.<T>comparingDouble(x).thenComparingDouble(y));
    List<T> frontier = new ArrayList<>();
    double bestY = Double.POSITIVE_INFINITY;
    double lastX = Double.NaN;
    for (T p : sorted) {
      double px = x.applyAsDouble(p);
      double py = y.applyAsDouble(p);
      boolean sameAsLast = !frontier.isEmpty() && px == lastX && py == bestY;
      if (py < bestY || sameAsLast) {
        frontier.add(p);
        bestY = py;
        lastX = px;
      }
    }
    return frontier;
  }
}
