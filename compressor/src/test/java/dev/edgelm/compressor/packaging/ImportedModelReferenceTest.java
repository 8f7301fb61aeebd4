package dev.edgelm.compressor.packaging;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.PerplexityResult;
import dev.edgelm.engine.Scorer;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The model core's acceptance: real checkpoints imported by edgelm (llama2.c, HF Llama, HF GPT-2),
 * emitted as packages and run by the engine reproduce an independent reference implementation's
 * prompt ids, top-5 logits per prompt position (within 1e-3), greedy continuations (identical) and
 * perplexity (within 0.5%).
 */
class ImportedModelReferenceTest {
  @TempDir Path tmp;

  static Stream<Arguments> checkpoints() {
    return Stream.of(
        Arguments.of("models/stories260K/stories260K.bin", "reference/stories260K.json"),
        Arguments.of("models/stories260K-hf", "reference/stories260K.json"),
        Arguments.of("models/gpt2-fixture", "reference/gpt2-fixture.json"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("checkpoints")
  void importedPackage_reproducesReferenceIdsLogitsAndGreedyText(String checkpoint, String reference) {
    ReferenceOutputs ref = ReferenceOutputs.read(SharedAssets.require(reference));
    try (DecoderModel model = load(checkpoint)) {
      for (ReferenceOutputs.Case c : ref.cases()) {
        assertArrayEquals(c.promptIds(), model.tokenizer().encodePrompt(c.prompt()), "prompt ids of '" + c.prompt() + "'");
        try (Sequence s = model.newSequence()) {
          float[][] logits = s.appendAll(c.promptIds());
          for (int p = 0; p < c.promptIds().length; p++) {
            for (int k = 0; k < c.top5Ids()[p].length; k++) {
              assertEquals(c.top5Logits()[p][k], logits[p][c.top5Ids()[p][k]], 1e-3,
                  "'" + c.prompt() + "' position " + p + " token " + c.top5Ids()[p][k]);
            }
            assertEquals(c.top5Ids()[p][0], argmax(logits[p]), "'" + c.prompt() + "' argmax at position " + p);
          }
        }
        GenerationResult greedy = Generation.stream(model,
            GenerationRequest.ofText(c.prompt()).withMaxTokens(c.greedyIds().length), text -> {});
        assertArrayEquals(c.greedyIds(), greedy.tokenIds(), "greedy ids of '" + c.prompt() + "'");
        assertEquals(c.greedyText(), greedy.text(), "greedy text of '" + c.prompt() + "'");
      }
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("storiesCheckpoints")
  void importedStories_perplexityPerDocumentWithinHalfPercent(String checkpoint) throws IOException {
    JsonNode expected = ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).perplexity();
    String text = Files.readString(SharedAssets.require("corpora/tinystories-valid.head32k.txt"));
    try (DecoderModel model = load(checkpoint)) {
      PerplexityResult r = Scorer.perplexity(model,
          ScoringPlan.perDocument(model.tokenizer(), text, "<|endoftext|>", model.contextLength()));
      assertEquals(expected.get("predicted_tokens").asLong(), r.scoredTokens());
      assertEquals(expected.get("perplexity").asDouble(), r.perplexity(), 0.005 * expected.get("perplexity").asDouble());
    }
  }

  static Stream<String> storiesCheckpoints() {
    return Stream.of("models/stories260K/stories260K.bin", "models/stories260K-hf");
  }

  @Test
  @Tag("slow")
  void importedGpt2_wikitextPerplexityWithinHalfPercent() throws IOException {
    JsonNode expected = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).perplexity();
    String text = Files.readString(SharedAssets.require("corpora/wikitext2-raw-test-a.txt"));
    ExecutorService pool = Executors.newFixedThreadPool(2);
    try (DecoderModel model = load("models/gpt2-fixture")) {
      PerplexityResult r = Scorer.perplexity(model, ScoringPlan.slidingWindow(model.tokenizer(), text, 256, 128), pool, 2);
      assertEquals(expected.get("scored_tokens").asLong(), r.scoredTokens());
      assertEquals(expected.get("perplexity").asDouble(), r.perplexity(), 0.005 * expected.get("perplexity").asDouble());
    } finally {
      pool.shutdownNow();
    }
  }

  /** The grouped-query, rotary graph edgelm emits: cached decoding equals recomputing from scratch. */
  @Test
  void kvCache_matchesFullRecomputeOver64Steps() {
    try (DecoderModel model = load("models/stories260K/stories260K.bin"); Sequence cached = model.newSequence()) {
      int[] prompt = model.tokenizer().encodePrompt("Once upon a time");
      int[] all = java.util.Arrays.copyOf(prompt, prompt.length + 64);
      float[] logits = cached.append(prompt);
      for (int step = 0; step < 64; step++) {
        int next = argmax(logits);
        all[prompt.length + step] = next;
        logits = cached.append(next);
        try (Sequence fresh = model.newSequence()) {
          float[][] full = fresh.appendAll(java.util.Arrays.copyOf(all, prompt.length + step + 1));
          assertArrayEquals(full[full.length - 1], logits, 1e-4f, "step " + step);
        }
      }
    }
  }

  @Test
  void packageDescriptor_recordsShapesSizesAndDigests() {
    ImportedModel imported = CheckpointImporter.importCheckpoint(SharedAssets.require("models/stories260K/stories260K.bin"), null);
    VariantDescriptor d = write(imported);
    assertEquals("fp32", d.getId());
    assertEquals("fp32", d.getMethod().getName());
    assertEquals("llama", d.getArchitecture().getFamily());
    assertEquals(imported.ir().parameterCount(), d.getParameterCount());
    assertEquals(2L * 5 * 4 * 8 * 4, d.getKvCacheBytesPerToken(), "2 (k,v) x 5 layers x 4 kv heads x head_dim 8 x 4 bytes");
    assertTrue(d.getWeightBytes() >= 4 * d.getParameterCount(), "fp32 weights (plus rotary tables)");
    assertTrue(d.getFilesList().stream().allMatch(f -> f.getDigest().matches("sha256:[0-9a-f]{64}")));
    assertTrue(d.getRequirements().getOnnxOpsList().contains("ai.onnx:MatMul"));
    assertEquals(imported.sourceDigest(), d.getBaseModelDigest());
  }

  private DecoderModel load(String checkpoint) {
    ImportedModel imported = CheckpointImporter.importCheckpoint(SharedAssets.require(checkpoint), null);
    write(imported);
    return DecoderModel.load(ModelPackage.open(tmp.resolve("pkg-" + imported.name())), SessionSettings.DEFAULTS);
  }

  private VariantDescriptor write(ImportedModel imported) {
    return PackageWriter.write(imported.ir(), imported.tokenizer(),
        new PackageWriter.Variant("fp32", imported.name(), Method.newBuilder().setName("fp32").build(), imported.sourceDigest()),
        tmp.resolve("pkg-" + imported.name()), true);
  }

  private static int argmax(float[] v) {
    int best = 0;
    for (int i = 1; i < v.length; i++) {
      if (v[i] > v[best]) {
        best = i;
      }
    }
    return best;
  }
}
