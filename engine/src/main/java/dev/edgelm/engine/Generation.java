package dev.edgelm.engine;

import dev.edgelm.engine.tokenizer.StreamDecoder;
import dev.edgelm.engine.tokenizer.Tokenizer;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;
import java.util.function.Consumer;

/**
 * One generation driven step by step: {@link #start} validates the request and opens a sequence;
 * each {@link #next()} runs the model once (the first call prefills the prompt) and returns one
 * {@link GenerationChunk}; the chunk with a {@link GenerationChunk#finishReason()} is the last.
 *
 * <p>Text in chunks is safe to show as it comes: the tokenizer's {@link StreamDecoder} holds back
 * partial UTF-8, and text that might begin a stop string is held until it is known not to be one.
 * A stop string is never emitted. Generation stops with {@link FinishReason#STOP} at the EOS token
 * or a stop string, {@link FinishReason#LENGTH} at {@code maxTokens} or when the context is full,
 * and {@link FinishReason#CANCELLED} after {@link #cancel()}.
 *
 * <p>A generation {@linkplain #startDetached started detached} runs no model itself: a scheduler
 * that decodes many streams in one call ({@link BatchDecoder}) runs the prompt and then
 * {@link #tokenToFeed()} on the stream's row and hands the logits to {@link #accept}; sampling, stop
 * strings, UTF-8 holding and finish reasons are the same code as {@link #next()}'s.
 *
 * <p>Threading: the caller drives {@link #next()} (and {@link #close()}) from one thread at a time
 * and may pause between steps for as long as it likes; nothing runs in the background and nothing
 * is buffered beyond one step. {@link #cancel()} may be called from any thread: the next step then
 * ends the generation at once without running the model (a step already running completes).
 *
 * <p>Errors: {@link #start} throws {@link InvalidRequestException} for an empty prompt, a prompt
 * that does not leave room in the context, or token ids outside the vocabulary. {@link #next()}
 * throws {@link RuntimeFailureException} when the runtime fails; the generation is then finished
 * and its sequence closed. The sequence is closed when the generation finishes; {@link #close()}
 * releases it early (use try-with-resources when a caller may stop driving a generation midway).
 */
public final class Generation implements AutoCloseable {
  private final LanguageModel model;
  /** The model runs elsewhere ({@link #startDetached}): no sequence, logits come through {@link #accept}. */
  private final boolean detached;
  /** The KV cache; null while {@linkplain #suspend() suspended}. */
  private Sequence sequence;
  /** Every token sampled so far (the last one is {@code unfed}): what a resumed sequence is rebuilt from. */
  private int[] generated = new int[16];
  private final int[] promptIds;
  private final int maxTokens;
  private final Ticker ticker;
  private final Sampler sampler;
  private final StreamDecoder decoder;
  private final StopStringFilter stops;
  private final OptionalInt eos;
  private final long startNanos;

  private volatile boolean cancelled;
  private boolean finished;
  private FinishReason finishReason;
  private int completionTokens;
  /** The sampled token not yet fed to the model, or -1 before the first step. */
  private int unfed = -1;
  private long firstTokenNanos = -1;
  private long decodeNanos;
  private long endNanos = -1;
  /** Detached: when the last logits were accepted (or the start), what the next step's time counts from. */
  private long lastAcceptNanos;
  private int cachedPromptTokens;

  private Generation(LanguageModel model, GenerationRequest request, int[] promptIds, boolean detached) {
    this.model = model;
    this.detached = detached;
    this.promptIds = promptIds;
    this.maxTokens = request.maxTokens();
    this.ticker = request.ticker();
    this.sampler = new Sampler(request.sampling());
    this.sampler.observe(promptIds);
    Tokenizer tokenizer = model.tokenizer();
    this.decoder = tokenizer.newStreamDecoder();
    this.stops = new StopStringFilter(request.stop());
    this.eos = tokenizer.eosId();
    this.startNanos = ticker.read();
    this.lastAcceptNanos = startNanos;
    this.sequence = detached ? null : model.newSequence();
  }

  /**
   * Validates {@code request}, encodes its prompt and opens a sequence; runs no model yet.
   *
   * @throws InvalidRequestException when the prompt is empty, has as many tokens as the context or
   *     more, or holds an id outside the vocabulary
   */
  public static Generation start(LanguageModel model, GenerationRequest request) {
    return new Generation(model, request, validPrompt(model, request), false);
  }

  /**
   * Validates {@code request} like {@link #start} but opens no sequence: the caller runs the model —
   * a scheduler's {@link BatchDecoder} row — on {@link #promptIds()} first, then on
   * {@link #tokenToFeed()} before each further step, and hands each run's logits to
   * {@link #accept}, which returns the chunk {@link #next()} would have. {@link #next()} on it only
   * reports a requested cancel. Threading and errors as for {@link #start}.
   */
  public static Generation startDetached(LanguageModel model, GenerationRequest request) {
    return new Generation(model, request, validPrompt(model, request), true);
  }

  private static int[] validPrompt(LanguageModel model, GenerationRequest request) {
    int[] ids = request.prompt() != null ? encode(model.tokenizer(), request.prompt()) : request.promptIds();
    if (ids.length == 0) {
      throw new InvalidRequestException("prompt is empty: give prompt text or prompt token ids");
    }
    if (ids.length >= model.contextLength()) {
      throw new InvalidRequestException("prompt has " + ids.length + " tokens but the model's context is " + model.contextLength()
          + " tokens; shorten the prompt to leave room for the reply");
    }
    for (int id : ids) {
      if (id < 0 || id >= model.vocabSize()) {
        throw new InvalidRequestException("prompt token id " + id + " is outside the vocabulary [0, " + model.vocabSize() + ")");
      }
    }
    return ids;
  }

  private static int[] encode(Tokenizer tokenizer, String prompt) {
    return prompt.isEmpty() ? new int[0] : tokenizer.encodePrompt(prompt);
  }

  /**
   * Runs one step and returns what it produced.
   *
   * @throws IllegalStateException when the generation has already finished
   * @throws RuntimeFailureException when the runtime fails (the generation is then finished)
   */
  public GenerationChunk next() {
    if (finished) {
      throw new IllegalStateException("generation has finished (" + finishReason + ")");
    }
    if (cancelled) {
      return finish(FinishReason.CANCELLED, GenerationChunk.NO_TOKEN, 0f, List.of(), "");
    }
    if (detached) {
      throw new IllegalStateException("a detached generation takes its logits from accept(float[])");
    }
    long stepStart = ticker.read();
    float[] logits;
    try {
      if (sequence == null) { // resumed after suspend(): rebuild the KV cache from the prompt and every token so far
        sequence = model.newSequence();
        int[] history = Arrays.copyOf(promptIds, promptIds.length + completionTokens);
        System.arraycopy(generated, 0, history, promptIds.length, completionTokens);
        logits = sequence.append(history);
      } else {
        logits = unfed < 0 ? sequence.append(promptIds) : sequence.append(unfed);
      }
    } catch (RuntimeException e) {
      finished = true;
      endNanos = ticker.read();
      closeSequence();
      throw e;
    }
    return sampled(logits, stepStart);
  }

  /**
   * A detached generation's step: {@code logits} predict the token after the prompt (first call)
   * or after {@link #tokenToFeed()}. After {@link #cancel()} it ends the generation as
   * {@link FinishReason#CANCELLED} without reading them.
   *
   * @throws IllegalStateException when the generation is attached ({@link #start}) or has finished
   */
  public GenerationChunk accept(float[] logits) {
    if (!detached) {
      throw new IllegalStateException("accept(float[]) is for a generation started with startDetached");
    }
    if (finished) {
      throw new IllegalStateException("generation has finished (" + finishReason + ")");
    }
    if (cancelled) {
      return finish(FinishReason.CANCELLED, GenerationChunk.NO_TOKEN, 0f, List.of(), "");
    }
    long stepStart = lastAcceptNanos;
    GenerationChunk chunk = sampled(logits, stepStart);
    lastAcceptNanos = ticker.read();
    return chunk;
  }

  /** The token the next model run appends: the last one sampled; -1 before the prompt has run. */
  public int tokenToFeed() {
    return unfed;
  }

  /**
   * Records how many prompt tokens the runner took from a cache instead of running them
   * ({@link BatchDecoder.Row#cachedPromptTokens()}), for {@link #usage()}.
   *
   * @throws IllegalArgumentException outside {@code [0, promptIds().length)}
   */
  public void recordCachedPromptTokens(int count) {
    if (count < 0 || count >= promptIds.length) {
      throw new IllegalArgumentException("cached prompt tokens " + count + " outside [0, " + promptIds.length + ")");
    }
    cachedPromptTokens = count;
  }

  private GenerationChunk sampled(float[] logits, long stepStart) {
    SampledToken token;
    try {
      token = sampler.sample(logits);
    } catch (RuntimeException e) {
      finished = true;
      endNanos = ticker.read();
      closeSequence();
      throw e;
    }
    long now = ticker.read();
    if (firstTokenNanos < 0) {
      firstTokenNanos = now;
    } else {
      decodeNanos += now - stepStart;
    }
    int id = token.id();
    sampler.observe(id);
    if (completionTokens == generated.length) {
      generated = Arrays.copyOf(generated, generated.length * 2);
    }
    generated[completionTokens++] = id;
    unfed = id;

    if (eos.isPresent() && id == eos.getAsInt()) {
      return finishWithRest(FinishReason.STOP, token, "");
    }
    String text = stops.accept(decoder.push(id));
    if (stops.stopped()) {
      return finish(FinishReason.STOP, id, token.logprob(), token.top(), text);
    }
    // The model holds the prompt and every sampled token but this one.
    if (completionTokens >= maxTokens || promptIds.length + completionTokens - 1 >= model.contextLength()) {
      return finishWithRest(FinishReason.LENGTH, token, text);
    }
    return new GenerationChunk(id, token.logprob(), token.top(), text, null);
  }

  /** Finishes, emitting what the decoder and the stop filter still hold (unless it completes a stop string). */
  private GenerationChunk finishWithRest(FinishReason reason, SampledToken token, String text) {
    String rest = stops.accept(decoder.flush());
    if (stops.stopped()) {
      reason = FinishReason.STOP;
    } else {
      rest += stops.release();
    }
    return finish(reason, token.id(), token.logprob(), token.top(), text + rest);
  }

  private GenerationChunk finish(FinishReason reason, int id, float logprob, List<TokenLogprob> top, String text) {
    finished = true;
    finishReason = reason;
    endNanos = ticker.read();
    closeSequence();
    return new GenerationChunk(id, logprob, top, text, reason);
  }

  private void closeSequence() {
    if (sequence != null) {
      sequence.close();
      sequence = null;
    }
  }

  /**
   * Frees the KV cache between steps (for a scheduler that lends this generation's memory to another while its
   * reader catches up); the next {@link #next()} rebuilds it by running the prompt and every token so far at once,
   * then continues exactly where it stopped (the sampler's state is kept, so a seeded or greedy generation yields the
   * same tokens). Idempotent; a finished generation is unaffected.
   */
  public void suspend() {
    if (!finished) {
      closeSequence();
    }
  }

  /** Whether the KV cache is freed by {@link #suspend()} and not yet rebuilt. */
  public boolean isSuspended() {
    return !finished && !detached && sequence == null;
  }

  /** Makes the next step end the generation as {@link FinishReason#CANCELLED}. Any thread; idempotent. */
  public void cancel() {
    cancelled = true;
  }

  public boolean isFinished() {
    return finished;
  }

  /** Why it finished; null while running and after a failure. */
  public FinishReason finishReason() {
    return finishReason;
  }

  /** The prompt as fed to the model. */
  public int[] promptIds() {
    return promptIds.clone();
  }

  public Usage usage() {
    return new Usage(promptIds.length, completionTokens, cachedPromptTokens);
  }

  public Timings timings() {
    Duration ttft = Duration.ofNanos(firstTokenNanos < 0 ? 0 : firstTokenNanos - startNanos);
    double perSecond = completionTokens > 1 && decodeNanos > 0 ? (completionTokens - 1) / (decodeNanos / 1e9) : 0;
    long end = endNanos >= 0 ? endNanos : ticker.read();
    return new Timings(ttft, perSecond, Duration.ofNanos(end - startNanos));
  }

  /** Releases the sequence; an unfinished generation ends as {@link FinishReason#CANCELLED}. Idempotent. */
  @Override
  public void close() {
    if (!finished) {
      finished = true;
      finishReason = FinishReason.CANCELLED;
      endNanos = ticker.read();
      closeSequence();
    }
  }

  /**
   * Runs a whole generation on the calling thread, handing each piece of text to {@code text} as
   * it becomes safe to show (for the CLI).
   */
  public static GenerationResult stream(LanguageModel model, GenerationRequest request, Consumer<String> text) {
    StringBuilder all = new StringBuilder();
    int[] ids = new int[16];
    int count = 0;
    try (Generation g = start(model, request)) {
      while (!g.isFinished()) {
        GenerationChunk chunk = g.next();
        if (chunk.hasToken()) {
          if (count == ids.length) {
            ids = Arrays.copyOf(ids, count * 2);
          }
          ids[count++] = chunk.tokenId();
        }
        if (!chunk.text().isEmpty()) {
          all.append(chunk.text());
          text.accept(chunk.text());
        }
      }
      return new GenerationResult(g.finishReason(), Arrays.copyOf(ids, count), all.toString(), g.usage(), g.timings());
    }
  }
}
