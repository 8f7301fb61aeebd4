package dev.edgelm.engine;

/**
 * Told as scoring proceeds: after each window, how many target tokens are scored so far out of the plan's total.
 * Called from the scoring threads, possibly concurrently; implementations must be thread-safe and quick.
 */
@FunctionalInterface
public interface ScoringProgress {
  ScoringProgress NONE = (scored, total) -> { };

  void scored(long scoredTokens, long totalTokens);
}
