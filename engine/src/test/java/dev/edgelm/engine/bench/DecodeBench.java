package dev.edgelm.engine.bench;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import java.nio.file.Path;

/**
 * Measures load time, prefill and batch-1 greedy decode speed of a model package (id level, no
 * tokenizer). A program, not a test. {@code mvn -B -q -pl engine -am -Pbench-runtime test-compile}
 * runs it on gpt2-fixture-onnx with one thread (and then {@link PerplexityBench}); by hand:
 *
 * <pre>
 * DecodeBench &lt;package dir&gt; [intraOpThreads=1] [allowSpinning=false] [tokens=200]
 * </pre>
 */
public final class DecodeBench {
  private DecodeBench() {}

  public static void main(String[] args) {
    Path dir = Path.of(args.length > 0 ? args[0] : "../shared/models/gpt2-fixture-onnx");
    int threads = args.length > 1 ? Integer.parseInt(args[1]) : 1;
    boolean spin = args.length > 2 && Boolean.parseBoolean(args[2]);
    int tokens = args.length > 3 ? Integer.parseInt(args[3]) : 200;
    SessionSettings settings = SessionSettings.DEFAULTS.withIntraOpThreads(threads).withAllowSpinning(spin);

    long t0 = System.nanoTime();
    ModelPackage pkg = ModelPackage.open(dir);
    DecoderModel.load(pkg, settings, new IdTokenizer()).close();
    long firstLoad = System.nanoTime() - t0;
    t0 = System.nanoTime();
    try (DecoderModel model = DecoderModel.load(pkg, settings, new IdTokenizer())) {
      long loaded = System.nanoTime();
      int[] prompt = {464, 2106, 286, 262, 1748};
      for (int round = 0; round < 4; round++) {
        try (Sequence seq = model.newSequence()) {
          long start = System.nanoTime();
          float[] logits = seq.append(prompt);
          long prefilled = System.nanoTime();
          int steps = Math.min(tokens, model.contextLength() - prompt.length);
          for (int i = 0; i < steps; i++) {
            logits = seq.append(argmax(logits));
          }
          long end = System.nanoTime();
          System.out.printf("round %d: prefill %d tokens %.1f ms, decode %d tokens %.1f tok/s%n", round, prompt.length,
              (prefilled - start) / 1e6, steps, steps / ((end - prefilled) / 1e9));
        }
      }
      System.out.printf("%s threads=%d spin=%b: first load (with ORT native init) %.0f ms, load %.0f ms%n", model, threads, spin,
          firstLoad / 1e6, (loaded - t0) / 1e6);
    }
  }

  private static int argmax(float[] x) {
    int best = 0;
    for (int i = 1; i < x.length; i++) {
      if (x[i] > x[best]) {
        best = i;
      }
    }
    return best;
  }
}
