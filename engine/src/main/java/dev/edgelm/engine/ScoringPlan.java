package dev.edgelm.engine;

import dev.edgelm.engine.tokenizer.Tokenizer;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.regex.Pattern;

/**
 * Which tokens of a text are scored, and with what context: a list of {@link ScoringWindow}s, each
 * run in a fresh sequence. Kept apart from scoring so that perplexity and model-vs-model
 * comparisons (KL, top-1 agreement) score exactly the same targets with exactly the same context.
 *
 * <p>Two protocols:
 *
 * <ul>
 *   <li><b>Sliding window</b> (Hugging Face's perplexity guide): the whole text as one token
 *       stream; windows of {@code W} tokens start every {@code S} tokens, window {@code k} spanning
 *       {@code [kS, min(kS + W, N))}, up to the first window that reaches the end. Each window scores
 *       only the targets no earlier window scored, so every token but the first is scored once.
 *   <li><b>Per document</b>: the text split on a separator; each stripped, non-empty document
 *       becomes BOS followed by its tokens, truncated to the context length, and every token after
 *       BOS is scored.
 * </ul>
 *
 * <p>Immutable and thread-safe. Sliding windows are cut from the token stream on access, so a plan
 * over a long text holds the stream once.
 */
public final class ScoringPlan {
  private final List<ScoringWindow> windows;
  private final long scoredTokens;
  private final String protocol;

  private ScoringPlan(List<ScoringWindow> windows, long scoredTokens, String protocol) {
    this.windows = windows;
    this.scoredTokens = scoredTokens;
    this.protocol = protocol;
  }

  /**
   * Sliding windows over a token stream.
   *
   * @param window tokens per window ({@code W}, at least 2)
   * @param stride tokens between window starts ({@code S}, in {@code [1, W]})
   */
  public static ScoringPlan slidingWindow(int[] tokens, int window, int stride) {
    if (window < 2) {
      throw new InvalidRequestException("scoring window must hold at least 2 tokens, got " + window);
    }
    if (stride < 1 || stride > window) {
      throw new InvalidRequestException("stride must be in [1, window=" + window + "], got " + stride);
    }
    int[] stream = tokens.clone();
    int n = stream.length;
    List<int[]> bounds = new ArrayList<>(); // begin, end, firstTarget (relative to begin)
    long scored = 0;
    if (n >= 2) {
      int previousEnd = 0;
      for (int begin = 0; ; begin += stride) {
        int end = (int) Math.min((long) begin + window, n);
        int first = Math.max(1, previousEnd - begin);
        bounds.add(new int[] {begin, end, first});
        scored += end - begin - first;
        previousEnd = end;
        if (end == n) {
          break;
        }
      }
    }
    List<ScoringWindow> windows = new AbstractList<>() {
      @Override
      public ScoringWindow get(int index) {
        int[] b = bounds.get(index);
        return new ScoringWindow(Arrays.copyOfRange(stream, b[0], b[1]), b[2]);
      }

      @Override
      public int size() {
        return bounds.size();
      }
    };
    return new ScoringPlan(windows, scored,
        "sliding window: " + n + " tokens, windows of " + window + " starting every " + stride + ", each target scored once");
  }

  /** Sliding windows over {@code text} encoded as one stream ({@link Tokenizer#encodePrompt}: BOS only if the tokenizer adds one). */
  public static ScoringPlan slidingWindow(Tokenizer tokenizer, String text, int window, int stride) {
    return slidingWindow(tokenizer.encodePrompt(text), window, stride);
  }

  /** Sliding windows of the model's context length, starting every half window. */
  public static ScoringPlan slidingWindow(LanguageModel model, String text) {
    int window = model.contextLength();
    return slidingWindow(model.tokenizer(), text, window, Math.max(1, window / 2));
  }

  /**
   * One window per document, each already {@code BOS + tokens}; every token after the first is scored.
   * Documents of fewer than 2 tokens are skipped.
   */
  public static ScoringPlan perDocument(List<int[]> documents, String protocol) {
    List<ScoringWindow> windows = new ArrayList<>();
    long scored = 0;
    for (int[] doc : documents) {
      if (doc.length >= 2) {
        windows.add(new ScoringWindow(doc.clone(), 1));
        scored += doc.length - 1;
      }
    }
    return new ScoringPlan(List.copyOf(windows), scored, protocol);
  }

  /**
   * Splits {@code text} on {@code separator} (literally), strips each document and drops empty
   * ones; each becomes BOS followed by {@link Tokenizer#encode}, truncated to {@code contextLength}.
   *
   * @throws InvalidRequestException when the tokenizer has no BOS token
   */
  public static ScoringPlan perDocument(Tokenizer tokenizer, String text, String separator, int contextLength) {
    OptionalInt bos = tokenizer.bosId();
    if (bos.isEmpty()) {
      throw new InvalidRequestException("per-document scoring starts each document with BOS, but the tokenizer has none");
    }
    List<int[]> documents = new ArrayList<>();
    for (String doc : text.split(Pattern.quote(separator), -1)) {
      String stripped = doc.strip();
      if (stripped.isEmpty()) {
        continue;
      }
      int[] ids = tokenizer.encode(stripped);
      int[] withBos = new int[Math.min(ids.length + 1, contextLength)];
      withBos[0] = bos.getAsInt();
      System.arraycopy(ids, 0, withBos, 1, withBos.length - 1);
      documents.add(withBos);
    }
    return perDocument(documents, "per document: " + documents.size() + " documents split on \"" + separator
        + "\", each BOS + text truncated to " + contextLength + " tokens, every token after BOS scored");
  }

  public List<ScoringWindow> windows() {
    return windows;
  }

  /** Targets scored over all windows. */
  public long scoredTokens() {
    return scoredTokens;
  }

  /** How the text was cut, for reports and the descriptor's {@code eval_protocol}. */
  public String protocol() {
    return protocol;
  }
}
