package dev.edgelm.it.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.PerplexityResult;
import dev.edgelm.engine.Scorer;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.it.daemon.ItModels;
import dev.edgelm.it.testing.EdgelmCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The model core through the real launcher: what a user types, in separate processes. */
class ModelCoreIT {
  private static final Duration QUICK = Duration.ofMinutes(2);

  @TempDir Path tmp;

  @Test
  void quickstart_withoutModel_synthesizesAndSaysItsTextIsRandom() throws Exception {
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "quickstart", "--work", tmp.resolve("qs").toString(), "--max-tokens", "16")
        .assertSuccess();
    assertTrue(r.err().contains("random"), r.err());
    assertTrue(r.err().contains("published fp32, int8, int4 as one release"), r.err());
    assertTrue(r.err().matches("(?s).*pulling variant (fp32|int8|int4) of oci:.*"), "the daemon selected a variant: " + r.err());
    assertTrue(r.err().contains("edgelmd stopped"), "the daemon drained: " + r.err());
    assertTrue(r.out().startsWith("Once upon a time"), r.out());
  }

  @Test
  void quickstart_withStories260KPinnedToFp32_tellsTheReferenceStory() throws Exception {
    Path model = SharedAssets.require("models/stories260K/stories260K.bin");
    ReferenceOutputs.Case first = ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).cases().get(0);
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "quickstart", "--model", model.toString(),
        "--work", tmp.resolve("qs").toString(), "--variant", "fp32", "--prompt", first.prompt(), "--max-tokens", String.valueOf(first.greedyIds().length))
        .assertSuccess();
    assertEquals(first.prompt() + first.greedyText(), r.out().stripTrailing());
  }

  @Test
  void generate_onPytorchExport_streamsTheReferenceContinuation() throws Exception {
    Path model = SharedAssets.require("models/gpt2-fixture-onnx");
    for (ReferenceOutputs.Case c : ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).cases()) {
      EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "generate", "--model", model.toString(), "--prompt", c.prompt(),
          "--max-tokens", String.valueOf(c.greedyIds().length)).assertSuccess();
      assertEquals(c.greedyText() + "\n", r.out(), "continuation of '" + c.prompt() + "', ended by a newline");
    }
  }

  /**
   * {@code edgelm eval} on the PyTorch export with the reference protocol's stride (its window is the
   * model's context, 256). The reference perplexity of the whole file is checked in-process by
   * {@code Gpt2FixtureTest} (engine), with the same {@code Scorer}; running all 1136 windows again in
   * a child JVM took over a minute and showed nothing more about the launcher. So the child scores a
   * held-out slice (the first 40,000 characters, cut at a line end) and must print exactly what the
   * engine computes in-process for it under the reference protocol, whose windows on the whole file
   * must count the reference's targets.
   */
  @Test
  void eval_onPytorchExport_printsTheEnginesReferenceProtocolPerplexity() throws Exception {
    Path model = SharedAssets.require("models/gpt2-fixture-onnx");
    JsonNode reference = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).perplexity();
    String whole = Files.readString(SharedAssets.require("corpora/wikitext2-raw-test-a.txt"));
    Path slice = tmp.resolve("wikitext-slice.txt");
    Files.writeString(slice, whole.substring(0, whole.indexOf('\n', 40_000) + 1));

    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "eval", "--model", model.toString(),
        "--text", slice.toString(), "--stride", "128", "--json").assertSuccess();
    JsonNode got = new ObjectMapper().readTree(r.out());

    PerplexityResult expected;
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(model), SessionSettings.DEFAULTS)) {
      assertEquals(reference.get("scored_tokens").asLong(), ScoringPlan.slidingWindow(m.tokenizer(), whole, 256, 128).scoredTokens(),
          "the reference protocol on the whole file");
      ExecutorService pool = Executors.newFixedThreadPool(2);
      try {
        expected = Scorer.perplexity(m, ScoringPlan.slidingWindow(m.tokenizer(), Files.readString(slice), 256, 128), pool, 2);
      } finally {
        pool.shutdownNow();
      }
    }
    assertTrue(expected.scoredTokens() > 8_000, "the slice scores " + expected.scoredTokens() + " targets");
    assertEquals(expected.scoredTokens(), got.get("tokens").asLong());
    assertEquals(expected.perplexity(), got.get("perplexity").asDouble(), 1e-9 * expected.perplexity());
    assertEquals(expected.meanNll(), got.get("mean_nll").asDouble(), 1e-9);
    assertTrue(got.get("protocol").asText().contains("windows of 256 starting every 128"), got.toString());
  }

  @Test
  void importThenEval_stories260KPerDocument_matchesReferencePerplexity() throws Exception {
    Path pkg = tmp.resolve("stories");
    EdgelmCommand.run(tmp, QUICK, "import", SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", pkg.toString())
        .assertSuccess();
    JsonNode expected = ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).perplexity();
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "eval", "--model", pkg.toString(),
        "--text", SharedAssets.require("corpora/tinystories-valid.head32k.txt").toString(), "--doc-separator", "<|endoftext|>", "--json")
        .assertSuccess();
    JsonNode got = new ObjectMapper().readTree(r.out());
    assertEquals(expected.get("predicted_tokens").asLong(), got.get("tokens").asLong());
    assertEquals(expected.get("perplexity").asDouble(), got.get("perplexity").asDouble(), 0.005 * expected.get("perplexity").asDouble());
  }

  /**
   * {@code ./edgelm synth --preset gpt2-small} and {@code ./edgelm import} run in {@link ItModels#gpt2Small()},
   * which keeps the import's stderr: the daemon ITs serve that same package, so the suite writes and
   * imports its 124M weights once.
   */
  @Test
  void synthGpt2Small_importThenGenerate_works() throws Exception {
    Path pkg = ItModels.gpt2Small();
    String imported = ItModels.gpt2SmallImportLog();
    assertTrue(imported.contains("124,439,808 parameters"), imported);
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "generate", "--model", pkg.toString(), "--prompt", "Hello",
        "--max-tokens", "8", "--stats").assertSuccess();
    assertTrue(r.err().contains("8 generated"), r.err());
    assertTrue(Files.size(pkg.resolve("model.onnx.data")) > 400_000_000L, "fp32 weights live in the external data file");
  }
}
