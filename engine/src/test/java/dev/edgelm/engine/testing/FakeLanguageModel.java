package dev.edgelm.engine.testing;

import dev.edgelm.engine.InvalidRequestException;
import dev.edgelm.engine.LanguageModel;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.tokenizer.Tokenizer;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntConsumer;

/**
 * An in-process {@link LanguageModel} that "says" a fixed continuation whatever the prompt: the
 * logits row after the prompt plus {@code i} generated tokens is 10 at {@code continuation[i]} (EOS
 * once the script runs out) and 0 elsewhere. Counts appends and open sequences, and can run a hook
 * on the driving thread before each append (to pause a generation mid-step in tests).
 */
public final class FakeLanguageModel implements LanguageModel {
  private final Tokenizer tokenizer;
  private final int contextLength;
  private final int[] continuation;
  private final AtomicInteger appendCalls = new AtomicInteger();
  private final AtomicInteger openSequences = new AtomicInteger();
  private volatile IntConsumer beforeAppend = call -> {};

  private FakeLanguageModel(Tokenizer tokenizer, int contextLength, int[] continuation) {
    this.tokenizer = tokenizer;
    this.contextLength = contextLength;
    this.continuation = continuation;
  }

  public static FakeLanguageModel saying(Tokenizer tokenizer, int contextLength, int... continuation) {
    return new FakeLanguageModel(tokenizer, contextLength, continuation.clone());
  }

  /** Runs {@code hook} with the 1-based number of each append, before it runs. */
  public FakeLanguageModel beforeAppend(IntConsumer hook) {
    this.beforeAppend = hook;
    return this;
  }

  public int appendCalls() {
    return appendCalls.get();
  }

  public int openSequences() {
    return openSequences.get();
  }

  @Override
  public Sequence newSequence() {
    openSequences.incrementAndGet();
    return new Sequence() {
      private int length;
      private int promptLength = -1;
      private boolean closed;

      @Override
      public void append(int[] tokens, int firstRow, LogitsConsumer rows) {
        beforeAppend.accept(appendCalls.incrementAndGet());
        if (length + tokens.length > contextLength) {
          throw new InvalidRequestException("sequence would hold " + (length + tokens.length) + " tokens, context " + contextLength);
        }
        if (promptLength < 0) {
          promptLength = tokens.length;
        }
        float[] row = new float[vocabSize()];
        for (int i = 0; i < tokens.length; i++) {
          int generated = length + i + 1 - promptLength;
          if (i >= firstRow) {
            Arrays.fill(row, 0f);
            int next = generated >= 0 && generated < continuation.length ? continuation[generated] : tokenizer.eosId().getAsInt();
            row[next] = 10f;
            rows.accept(i, row);
          }
        }
        length += tokens.length;
      }

      @Override
      public int length() {
        return length;
      }

      @Override
      public int contextLength() {
        return contextLength;
      }

      @Override
      public void reset() {
        length = 0;
        promptLength = -1;
      }

      @Override
      public void close() {
        if (!closed) {
          closed = true;
          openSequences.decrementAndGet();
        }
      }
    };
  }

  @Override
  public int contextLength() {
    return contextLength;
  }

  @Override
  public int vocabSize() {
    return tokenizer.vocabSize();
  }

  @Override
  public Tokenizer tokenizer() {
    return tokenizer;
  }
}
