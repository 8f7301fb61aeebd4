package dev.edgelm.engine.tokenizer;

import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.engine.testing.SharedTokenizers;
import dev.edgelm.proto.v1.TokenizerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.function.Supplier;

/**
 * Tokenizer speed on the shared corpora: load time, the first encode with a fresh tokenizer (empty
 * word cache, cold JIT: what a CLI run sees), and the median of warm encodes and decodes. A
 * program, not a test; run it with
 *
 * <pre>mvn -B -q -pl engine -am -Pbench test-compile</pre>
 *
 * and record the output in docs/BENCHMARKS.md with the machine and date.
 */
public final class TokenizerBench {
  private static final int WARM_RUNS = 10;

  private TokenizerBench() {}

  public static void main(String[] args) throws IOException {
    Path shared = SharedAssets.sharedDir();
    if (!Files.isDirectory(shared)) {
      throw new IllegalStateException(shared + " is absent: the benchmark needs ../shared");
    }
    String wikitext = Files.readString(shared.resolve("corpora/wikitext2-raw-test-a.txt"));
    String stories = Files.readString(shared.resolve("corpora/tinystories-valid.head32k.txt"));
    TokenizerSpec gpt2 = TokenizerSpec.newBuilder().setKind(Tokenizers.KIND_GPT2_BPE).addFiles("vocab.json").addFiles("merges.txt").build();

    run("gpt2 vocab.json+merges.txt, wikitext2-raw-test-a", () -> Tokenizers.load(shared.resolve("tokenizers/gpt2"), gpt2), wikitext);
    run("gpt2-fixture tokenizer.json, wikitext2-raw-test-a",
        () -> Tokenizers.load(shared.resolve("models/gpt2-fixture"), gpt2.toBuilder().clearFiles().addFiles("tokenizer.json").build()), wikitext);
    run("llama2 tokenizer.bin, wikitext2-raw-test-a",
        () -> Tokenizers.load(shared.resolve("tokenizers/llama2"), SharedTokenizers.llamaSpec("tokenizer.bin")), wikitext);
    run("stories260K tok512.bin, tinystories-valid.head32k",
        () -> Tokenizers.loadLlama2c(shared.resolve("models/stories260K/tok512.bin")), stories);
  }

  private static void run(String name, Supplier<Tokenizer> load, String text) {
    long start = System.nanoTime();
    Tokenizer tokenizer = load.get();
    long loaded = System.nanoTime();
    int[] ids = tokenizer.encode(text);
    long firstEncode = System.nanoTime();

    double[] encodes = new double[WARM_RUNS];
    double[] decodes = new double[WARM_RUNS];
    for (int i = 0; i < WARM_RUNS; i++) {
      long t0 = System.nanoTime();
      ids = tokenizer.encode(text);
      long t1 = System.nanoTime();
      tokenizer.decode(ids);
      long t2 = System.nanoTime();
      encodes[i] = (t1 - t0) / 1e6;
      decodes[i] = (t2 - t1) / 1e6;
    }
    System.out.printf(
        "%-52s %7d chars %7d tokens | load %5.0f ms | first encode %5.0f ms | warm encode %5.1f ms (%.1f M tok/s) | warm decode %5.1f ms%n",
        name, text.length(), ids.length, (loaded - start) / 1e6, (firstEncode - loaded) / 1e6, median(encodes),
        ids.length / median(encodes) / 1e3, median(decodes));
  }

  private static double median(double[] values) {
    double[] sorted = values.clone();
    Arrays.sort(sorted);
    return sorted[sorted.length / 2];
  }
}
