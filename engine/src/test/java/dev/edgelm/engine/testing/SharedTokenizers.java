package dev.edgelm.engine.testing;

import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.engine.tokenizer.Tokenizers;
import dev.edgelm.proto.v1.TokenizerSpec;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The tokenizers of {@code ../shared}, each loaded once per test JVM through the public {@link
 * Tokenizers#load} with the spec a descriptor would carry. Each method skips the calling test when
 * its files are absent.
 */
public final class SharedTokenizers {
  private static final Map<String, Tokenizer> LOADED = new ConcurrentHashMap<>();

  private SharedTokenizers() {}

  /** OpenAI GPT-2 from {@code tokenizers/gpt2/vocab.json} + {@code merges.txt}; no BOS. */
  public static Tokenizer gpt2() {
    return load("tokenizers/gpt2", gpt2Spec().addFiles("vocab.json").addFiles("merges.txt").build());
  }

  /** The same vocabulary from {@code models/gpt2-fixture/tokenizer.json}; no BOS. */
  public static Tokenizer gpt2FixtureJson() {
    return load("models/gpt2-fixture", gpt2Spec().addFiles("tokenizer.json").build());
  }

  /** Llama 2 (32000 pieces) from {@code tokenizers/llama2/tokenizer.bin}; BOS and dummy prefix. */
  public static Tokenizer llama2() {
    return load("tokenizers/llama2", llamaSpec("tokenizer.bin"));
  }

  /** stories260K's 512-piece tokenizer, {@code models/stories260K/tok512.bin}; BOS and dummy prefix. */
  public static Tokenizer stories260K() {
    return load("models/stories260K", llamaSpec("tok512.bin"));
  }

  /** The spec of a Llama-kind package whose only tokenizer file is {@code file}. */
  public static TokenizerSpec llamaSpec(String file) {
    return TokenizerSpec.newBuilder()
        .setKind(Tokenizers.KIND_SENTENCEPIECE_BPE)
        .addFiles(file)
        .setAddBos(true)
        .setAddDummyPrefix(true)
        .setBosTokenId(1)
        .setEosTokenId(2)
        .build();
  }

  private static TokenizerSpec.Builder gpt2Spec() {
    return TokenizerSpec.newBuilder().setKind(Tokenizers.KIND_GPT2_BPE).setAddBos(false);
  }

  private static Tokenizer load(String dir, TokenizerSpec spec) {
    for (String file : spec.getFilesList()) {
      SharedAssets.require(dir + "/" + file);
    }
    Path packageDir = SharedAssets.require(dir);
    return LOADED.computeIfAbsent(dir + spec.getFilesList(), key -> Tokenizers.load(packageDir, spec));
  }
}
