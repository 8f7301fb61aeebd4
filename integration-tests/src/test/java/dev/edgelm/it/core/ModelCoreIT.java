package dev.edgelm.it.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.it.testing.EdgelmCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Tag;
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
      assertEquals(c.greedyText(), r.out(), "continuation of '" + c.prompt() + "'");
    }
  }

  @Test
  @Tag("slow")
  void eval_onPytorchExport_matchesReferencePerplexity() throws Exception {
    Path model = SharedAssets.require("models/gpt2-fixture-onnx");
    JsonNode expected = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).perplexity();
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, Duration.ofMinutes(10), "eval", "--model", model.toString(),
        "--text", SharedAssets.require("corpora/wikitext2-raw-test-a.txt").toString(), "--stride", "128", "--json").assertSuccess();
    JsonNode got = new ObjectMapper().readTree(r.out());
    assertEquals(expected.get("scored_tokens").asLong(), got.get("tokens").asLong());
    assertEquals(expected.get("perplexity").asDouble(), got.get("perplexity").asDouble(), 0.005 * expected.get("perplexity").asDouble());
    assertEquals(expected.get("mean_nll_nats").asDouble(), got.get("mean_nll").asDouble(), 0.005);
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

  @Test
  void synthGpt2Small_importThenGenerate_works() throws Exception {
    Path ckpt = tmp.resolve("gpt2-small");
    Path pkg = tmp.resolve("gpt2-small-pkg");
    EdgelmCommand.run(tmp, QUICK, "synth", "--preset", "gpt2-small", "--out", ckpt.toString()).assertSuccess();
    EdgelmCommand.Result imported = EdgelmCommand.run(tmp, QUICK, "import", ckpt.toString(), "--out", pkg.toString()).assertSuccess();
    assertTrue(imported.err().contains("124,439,808 parameters"), imported.err());
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "generate", "--model", pkg.toString(), "--prompt", "Hello",
        "--max-tokens", "8", "--stats").assertSuccess();
    assertTrue(r.err().contains("8 generated"), r.err());
    assertTrue(Files.size(pkg.resolve("model.onnx.data")) > 400_000_000L, "fp32 weights live in the external data file");
  }
}
