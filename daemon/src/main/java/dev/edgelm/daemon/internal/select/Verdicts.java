package dev.edgelm.daemon.internal.select;

import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.hub.Release;
import dev.edgelm.proto.Units;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The order of the feasible variants (fastest first, but within the speed tolerance the best quality first) and the
 * reason worded for each verdict: chosen, candidate, or rejected.
 *
 * <p>Threading: stateless.
 */
final class Verdicts {
  private Verdicts() {}

  /** Fastest first, but among those within the speed tolerance of the fastest the best quality first. */
  static List<Assessment> rank(List<Assessment> feasible, SelectionPolicy policy) {
    double max = feasible.stream().mapToDouble(a -> a.tokensPerSecond).max().orElse(0);
    double floor = max * (1 - policy.speedTolerance());
    Comparator<Assessment> order = Comparator
        .comparing((Assessment a) -> a.tokensPerSecond >= floor ? 0 : 1)
        .thenComparing((x, y) -> {
          boolean top = x.tokensPerSecond >= floor; // both are in the same group here
          int bySpeed = Double.compare(y.tokensPerSecond, x.tokensPerSecond);
          int byQuality = Double.compare(x.qualityKey(), y.qualityKey());
          return top ? (byQuality != 0 ? byQuality : bySpeed) : (bySpeed != 0 ? bySpeed : byQuality);
        })
        .thenComparingLong(a -> a.entry.downloadBytes())
        .thenComparing(a -> a.entry.id());
    return feasible.stream().sorted(order).toList();
  }

  static Selection verdicts(Release release, HostCapabilities host, SelectionPolicy policy, long budget, List<Assessment> all,
      List<Assessment> ranked, String pinned, Instant now) {
    Map<Assessment, Integer> rankOf = new LinkedHashMap<>();
    for (int i = 0; i < ranked.size(); i++) {
      rankOf.put(ranked.get(i), i + 1);
    }
    double max = ranked.stream().mapToDouble(a -> a.tokensPerSecond).max().orElse(0);
    Assessment fastest = ranked.stream().filter(a -> a.tokensPerSecond == max).findFirst().orElse(null);
    Assessment chosen = pinned != null ? all.stream().filter(a -> a.entry.id().equals(pinned)).findFirst().orElseThrow()
        : ranked.isEmpty() ? null : ranked.get(0);

    List<Selection.Verdict> out = new ArrayList<>();
    String reason;
    if (chosen != null) {
      String why = pinned != null ? pinnedReason(chosen) : chosenReason(chosen, fastest, policy, budget);
      out.add(verdict(chosen, Selection.Outcome.CHOSEN, 1, why));
      reason = why;
    } else {
      StringBuilder s = new StringBuilder("no variant of " + release.reference() + " suits this host: ");
      for (int i = 0; i < all.size(); i++) {
        s.append(i > 0 ? "; " : "").append(all.get(i).entry.id()).append(": ").append(String.join(", ", all.get(i).failed));
      }
      reason = s.toString();
    }
    int nextRank = 2;
    for (Assessment a : ranked) {
      if (a == chosen) {
        continue;
      }
      String why = pinned != null ? "not pinned; would rank #" + rankOf.get(a) + ": " + speedText(a)
          : "ranked #" + nextRank + ": " + speedText(a) + comparison(a, chosen, policy);
      out.add(verdict(a, Selection.Outcome.CANDIDATE, nextRank++, why));
    }
    for (Assessment a : all) {
      if (!a.feasible() && a != chosen) {
        out.add(verdict(a, Selection.Outcome.REJECTED, 0, String.join("; ", a.failed)));
      }
    }
    return new Selection(release.reference(), release.indexDigest(), out, pinned != null, reason, host, policy, budget,
        now);
  }

  static Selection.Verdict verdict(Assessment a, Selection.Outcome outcome, int rank, String reason) {
    boolean ranked = a.feasible() || outcome == Selection.Outcome.CHOSEN;
    return new Selection.Verdict(a.entry.id(), a.entry.manifestDigest(), a.entry.method(), outcome, rank, reason, a.failed,
        ranked ? a.tokensPerSecond : 0, ranked ? a.speedBasis : "", a.memoryRequired, a.ep, a.ratio, a.entry.downloadBytes());
  }

  static String pinnedReason(Assessment a) {
    String s = "pinned by the operator; " + speedText(a);
    return a.failed.isEmpty() ? s : s + "; warning: would otherwise be rejected: " + String.join("; ", a.failed);
  }

  static String chosenReason(Assessment a, Assessment fastest, SelectionPolicy policy, long budget) {
    String fits = "; needs " + Units.size(a.memoryRequired) + (Assessment.onGpu(a.ep) ? " of GPU memory" : " of a " + Units.size(budget) + " budget");
    if (fastest == null || fastest == a || fastest.tokensPerSecond == a.tokensPerSecond) {
      return "fastest: " + speedText(a) + fits;
    }
    return String.format(Locale.ROOT, "within %d%% of the fastest (%s, %.1f tok/s) with better quality (%s vs %s): %s%s",
        Math.round(policy.speedTolerance() * 100), fastest.entry.id(), fastest.tokensPerSecond, quality(a), quality(fastest), speedText(a), fits);
  }

  static String comparison(Assessment a, Assessment chosen, SelectionPolicy policy) {
    if (chosen == null || chosen.tokensPerSecond <= 0) {
      return "";
    }
    if (a.tokensPerSecond > chosen.tokensPerSecond) {
      return "; faster than " + chosen.entry.id() + " by less than " + Math.round(policy.speedTolerance() * 100) + "%, worse quality ("
          + quality(a) + ")";
    }
    return String.format(Locale.ROOT, "; %.0f%% slower than %s", 100 * (1 - a.tokensPerSecond / chosen.tokensPerSecond), chosen.entry.id());
  }

  static String speedText(Assessment a) {
    return String.format(Locale.ROOT, "%.1f tok/s predicted on %s (%s)", a.tokensPerSecond, a.ep, a.speedWhy)
        .replace("predicted on " + a.ep + " (decoded", "measured on " + a.ep + " (decoded");
  }

  static String quality(Assessment a) {
    double q = a.qualityKey();
    return Double.isInfinite(q) ? "quality not measured" : String.format(Locale.ROOT, "perplexity ratio %.3f", q);
  }
}
