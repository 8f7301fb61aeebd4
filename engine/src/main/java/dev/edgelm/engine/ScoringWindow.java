package dev.edgelm.engine;

/**
 * One window of a {@link ScoringPlan}: tokens run through a fresh sequence, where position
 * {@code i} predicts token {@code i + 1}, and the targets {@code tokens[firstTarget ..]} are scored.
 * Targets before {@code firstTarget} are context only (scored by an earlier window, or the BOS).
 *
 * <p>The array is not copied: do not modify it.
 */
public record ScoringWindow(int[] tokens, int firstTarget) {
  /** @throws IllegalArgumentException when {@code firstTarget} is outside {@code [1, tokens.length]} */
  public ScoringWindow {
    if (firstTarget < 1 || firstTarget > tokens.length) {
      throw new IllegalArgumentException("firstTarget " + firstTarget + " outside [1, " + tokens.length + "]");
    }
  }

  /** Number of scored targets. */
  public int targets() {
    return tokens.length - firstTarget;
  }
}
