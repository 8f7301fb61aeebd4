package dev.edgelm.engine;

/** Receives, for each scored target of a {@link ScoringPlan}, the logits row that predicts it. */
@FunctionalInterface
public interface ScoredRowConsumer {
  /**
   * @param window index of the window in the plan
   * @param position index of the target within the window's tokens
   * @param target the target token id
   * @param logits the row predicting it; the array is reused after this returns
   */
  void accept(int window, int position, int target, float[] logits);
}
