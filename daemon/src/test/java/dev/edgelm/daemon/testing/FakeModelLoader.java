package dev.edgelm.daemon.testing;

import dev.edgelm.daemon.ModelLoader;
import dev.edgelm.daemon.ServableModel;
import dev.edgelm.engine.LanguageModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.FakeLanguageModel;
import dev.edgelm.engine.testing.FakeTokenizer;
import dev.edgelm.hub.testing.TestPackages;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;

/**
 * A {@link ModelLoader} that serves in-process {@link FakeLanguageModel}s instead of running ONNX
 * Runtime, for daemon tests that need no real model. Packages on disk are {@link TestPackages}
 * (the daemon still opens them); the loader picks the fake by the descriptor's model name and
 * weighs it by the descriptor's weight and KV bytes. Loads can be held at a gate, and loads and
 * closes are counted.
 */
public final class FakeModelLoader implements ModelLoader {
  /** Pieces of the fake vocabulary: id 2 = "a", 3 = "b", ... (0 is BOS, 1 is EOS). */
  public static final FakeTokenizer TOKENIZER = FakeTokenizer.of("a", "b", "c", "d", " ", ".");

  private final Map<String, Supplier<? extends LanguageModel>> models = new ConcurrentHashMap<>();
  private volatile CountDownLatch gate = new CountDownLatch(0);
  private volatile boolean deafToInterrupts;
  private final AtomicInteger started = new AtomicInteger();
  private final AtomicInteger loads = new AtomicInteger();
  private final AtomicInteger closes = new AtomicInteger();

  /** Serves {@code factory}'s model for packages whose descriptor names {@code model}. */
  public FakeModelLoader serve(String model, Supplier<? extends LanguageModel> factory) {
    models.put(model, factory);
    return this;
  }

  /** Loads wait until {@link #openGate()}. */
  public FakeModelLoader closeGate() {
    gate = new CountDownLatch(1);
    return this;
  }

  /** Loads wait until {@link #openGate()} and, like session creation inside ONNX Runtime, ignore interrupts meanwhile. */
  public FakeModelLoader closeGateDeafToInterrupts() {
    deafToInterrupts = true;
    return closeGate();
  }

  /** Loads that have started (some may wait at the gate). */
  public int loadsStarted() {
    return started.get();
  }

  public void openGate() {
    gate.countDown();
  }

  public int loads() {
    return loads.get();
  }

  public int closes() {
    return closes.get();
  }

  /** A model that says "abcd" repeatedly, {@code tokens} tokens long, then EOS. */
  public static FakeLanguageModel saying(int tokens, int context) {
    int[] script = new int[tokens];
    for (int i = 0; i < tokens; i++) {
      script[i] = 2 + i % 4;
    }
    return FakeLanguageModel.saying(TOKENIZER, context, script);
  }

  /** Writes a fake package for {@code model} with {@code weightBytes} of weights. */
  public static Path writePackage(Path dir, String model, int weightBytes) {
    return TestPackages.write(dir, model, "fp32", "fp32", weightBytes, model.hashCode());
  }

  @Override
  public ServableModel load(ModelPackage pkg, SessionSettings settings) {
    started.incrementAndGet();
    boolean interrupted = false;
    try {
      while (true) {
        try {
          if (!gate.await(60, TimeUnit.SECONDS)) {
            throw new IllegalStateException("load gate never opened");
          }
          break;
        } catch (InterruptedException e) {
          if (!deafToInterrupts) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
          }
          interrupted = true;
        }
      }
    } finally {
      if (interrupted) {
        Thread.currentThread().interrupt();
      }
    }
    VariantDescriptor d = pkg.descriptor();
    Supplier<? extends LanguageModel> factory = models.get(d.getModel());
    if (factory == null) {
      throw new IllegalStateException("no fake model for " + d.getModel());
    }
    LanguageModel lm = factory.get();
    loads.incrementAndGet();
    return new ServableModel() {
      private boolean closed;

      @Override
      public LanguageModel languageModel() {
        return lm;
      }

      @Override
      public VariantDescriptor descriptor() {
        return d;
      }

      @Override
      public long residentBytes() {
        return d.getWeightBytes();
      }

      @Override
      public long kvCacheBytesPerToken() {
        return d.getKvCacheBytesPerToken();
      }

      @Override
      public synchronized void close() {
        if (!closed) {
          closed = true;
          closes.incrementAndGet();
        }
      }
    };
  }
}
