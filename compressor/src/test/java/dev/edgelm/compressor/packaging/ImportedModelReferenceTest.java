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
import dev.edgelm.engine.ScoringWindow;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
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
 *
 * <p>Each checkpoint is imported, written and loaded once for the whole class ({@link #imported});
 * the tests only read the loaded models.
 */
class ImportedModelReferenceTest {
  @TempDir static Path tmp;

  /** What one checkpoint became: its import, the descriptor written with its package, the package loaded. */
  private record Imported(ImportedModel model, VariantDescriptor descriptor, DecoderModel decoder) {}

  private static final Map<String, Imported> IMPORTED = new HashMap<>();
  private static DecoderModel pytorchExport;

  @AfterAll
  static void closeModels() {
    IMPORTED.values().forEach(i -> i.decoder().close());
    IMPORTED.clear();
    if (pytorchExport != null) {
      pytorchExport.close();
      pytorchExport = null;
    }
  }

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
    DecoderModel model = load(checkpoint);
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

  @ParameterizedTest(name = "{0}")
  @MethodSource("storiesCheckpoints")
  void importedStories_perplexityPerDocumentWithinHalfPercent(String checkpoint) throws IOException {
    JsonNode expected = ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json")).perplexity();
    String text = Files.readString(SharedAssets.require("corpora/tinystories-valid.head32k.txt"));
    DecoderModel model = load(checkpoint);
    PerplexityResult r = Scorer.perplexity(model,
        ScoringPlan.perDocument(model.tokenizer(), text, "<|endoftext|>", model.contextLength()));
    assertEquals(expected.get("predicted_tokens").asLong(), r.scoredTokens());
    assertEquals(expected.get("perplexity").asDouble(), r.perplexity(), 0.005 * expected.get("perplexity").asDouble());
  }

  static Stream<String> storiesCheckpoints() {
    return Stream.of("models/stories260K/stories260K.bin", "models/stories260K-hf");
  }

  /**
   * WikiText-2 under the reference protocol (windows of 256 tokens every 128). The whole file is
   * tokenized and cut into windows, and its target count must equal the reference's. Scoring all
   * 1136 windows took most of this class's time and repeated what {@code Gpt2FixtureTest} (engine)
   * already checks against the reference perplexity on the whole file with the PyTorch export of
   * the same weights; so here every 16th window, spread over the whole file, is scored by the
   * imported package and by that export, and every target's negative log-likelihood must agree
   * within 1e-3 nats (the tolerance of the reference logits) and the slice's perplexity within 0.01%.
   */
  @Test
  void importedGpt2_wikitextWindowsCountTheReferenceTargets_andScoreAsThePytorchExport() throws IOException {
    JsonNode expected = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json")).perplexity();
    String text = Files.readString(SharedAssets.require("corpora/wikitext2-raw-test-a.txt"));
    DecoderModel imported = load("models/gpt2-fixture");
    ScoringPlan plan = ScoringPlan.slidingWindow(imported.tokenizer(), text, 256, 128);
    assertEquals(expected.get("scored_tokens").asLong(), plan.scoredTokens());

    List<ScoringWindow> slice = new ArrayList<>();
    for (int w = 0; w < plan.windows().size(); w += 16) {
      slice.add(plan.windows().get(w));
    }
    CompletableFuture<double[][]> export = CompletableFuture.supplyAsync(() -> targetNll(pytorchExport(), slice));
    double[][] got = targetNll(imported, slice);
    double[][] reference = export.join();
    double importedNll = 0;
    double exportNll = 0;
    long targets = 0;
    for (int w = 0; w < slice.size(); w++) {
      for (int p = slice.get(w).firstTarget(); p < got[w].length; p++) {
        assertEquals(reference[w][p], got[w][p], 1e-3, "window " + 16 * w + " target " + p);
        importedNll += got[w][p];
        exportNll += reference[w][p];
        targets++;
      }
    }
    assertTrue(targets > 8_000, "the slice scores " + targets + " targets");
    double importedPpl = Math.exp(importedNll / targets);
    double exportPpl = Math.exp(exportNll / targets);
    assertEquals(exportPpl, importedPpl, 1e-4 * exportPpl, "perplexity of every 16th window");
  }

  /** The grouped-query, rotary graph edgelm emits: cached decoding equals recomputing from scratch. */
  @Test
  void kvCache_matchesFullRecomputeOver64Steps() {
    DecoderModel model = load("models/stories260K/stories260K.bin");
    try (Sequence cached = model.newSequence()) {
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

  /**
   * The in-place GroupQueryAttention graph (the default) and the portable Concat graph of the same
   * checkpoint agree to 1e-4 in every prompt position's logits, and decode the same greedy tokens.
   */
  @ParameterizedTest(name = "{0}")
  @MethodSource("checkpoints")
  void gqaGraph_agreesWithPortableGraph(String checkpoint, String reference) {
    Imported gqa = imported(checkpoint);
    ImportedModel m = gqa.model();
    if (m.ir().config().headDim() % 16 != 0) { // stories260K (head size 8): ORT's GQA kernel refuses it, the package is portable
      assertEquals("concat", gqa.descriptor().getGraph().getKvCache());
      assertTrue(gqa.descriptor().getRequirements().getOnnxOpsList().stream().noneMatch(op -> op.contains("GroupQueryAttention")));
      return;
    }
    assertEquals("shared_buffer", gqa.descriptor().getGraph().getKvCache());
    assertTrue(gqa.descriptor().getRequirements().getOnnxOpsList().contains("com.microsoft:GroupQueryAttention"));
    Path dir = tmp.resolve("portable-" + m.name() + "-" + Math.abs(checkpoint.hashCode()));
    VariantDescriptor d = PackageWriter.write(m.ir(), m.tokenizer(),
        new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()),
        new PackageWriter.Target(dir, false, List.of()), dev.edgelm.compressor.onnx.DecoderEmitter.Attention.PORTABLE);
    assertEquals("concat", d.getGraph().getKvCache());
    ReferenceOutputs ref = ReferenceOutputs.read(SharedAssets.require(reference));
    try (DecoderModel portable = DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS)) {
      for (ReferenceOutputs.Case c : ref.cases()) {
        try (Sequence a = gqa.decoder().newSequence(); Sequence b = portable.newSequence()) {
          float[][] x = a.appendAll(c.promptIds());
          float[][] y = b.appendAll(c.promptIds());
          for (int p = 0; p < x.length; p++) {
            assertArrayEquals(y[p], x[p], 1e-4f, "'" + c.prompt() + "' position " + p);
          }
          for (int step = 0; step < c.greedyIds().length; step++) {
            int next = argmax(x[x.length - 1]);
            assertEquals(next, argmax(y[y.length - 1]), "'" + c.prompt() + "' step " + step);
            x = new float[][] {a.append(next)};
            y = new float[][] {b.append(next)};
            assertArrayEquals(y[0], x[0], 1e-4f, "'" + c.prompt() + "' decode step " + step);
          }
        }
      }
    }
  }

  /** Prefill computes the head only at the rows asked for (logits_to_keep), with the same values as the all-rows graph. */
  @Test
  void logitsToKeep_computesOnlyTheLastRows_withTheAllRowsValues() throws Exception {
    Imported i = imported("models/gpt2-fixture");
    assertEquals("selectable", i.descriptor().getGraph().getLogits());
    ai.onnxruntime.OrtEnvironment env = ai.onnxruntime.OrtEnvironment.getEnvironment();
    int n = 6;
    try (ai.onnxruntime.OrtSession session = env.createSession(i.decoder().modelPackage().modelFile().toString())) {
      float[][][] all = runKeeping(env, session, n, 0);
      assertEquals(n, all[0].length);
      for (int keep : new int[] {1, 3, n, n + 4}) {
        float[][][] some = runKeeping(env, session, n, keep);
        int rows = Math.min(keep, n);
        assertEquals(rows, some[0].length, "rows for logits_to_keep = " + keep);
        for (int r = 0; r < rows; r++) {
          assertArrayEquals(all[0][n - rows + r], some[0][r], 1e-5f, "logits_to_keep = " + keep + ", row " + r);
        }
      }
    }
  }

  private static float[][][] runKeeping(ai.onnxruntime.OrtEnvironment env, ai.onnxruntime.OrtSession session, int n, long keep)
      throws ai.onnxruntime.OrtException {
    long[] ids = new long[n];
    long[] ones = new long[n];
    long[] positions = new long[n];
    for (int t = 0; t < n; t++) {
      ids[t] = 100 + 37L * t;
      ones[t] = 1;
      positions[t] = t;
    }
    Map<String, ai.onnxruntime.OnnxTensor> feed = new HashMap<>();
    try {
      feed.put("input_ids", ai.onnxruntime.OnnxTensor.createTensor(env, new long[][] {ids}));
      feed.put("position_ids", ai.onnxruntime.OnnxTensor.createTensor(env, new long[][] {positions}));
      feed.put("logits_to_keep", ai.onnxruntime.OnnxTensor.createTensor(env, new long[] {keep}));
      boolean shared = session.getInputInfo().containsKey("seqlens_k");
      if (shared) { // GroupQueryAttention graph: a cache buffer of n positions, all written by this call
        feed.put("seqlens_k", ai.onnxruntime.OnnxTensor.createTensor(env, new int[] {n - 1}));
        feed.put("total_sequence_length", ai.onnxruntime.OnnxTensor.createTensor(env, n));
      } else {
        feed.put("attention_mask", ai.onnxruntime.OnnxTensor.createTensor(env, new long[][] {ones}));
      }
      for (Map.Entry<String, ai.onnxruntime.NodeInfo> in : session.getInputInfo().entrySet()) {
        if (in.getKey().startsWith("past_key_values.")) {
          long[] shape = ((ai.onnxruntime.TensorInfo) in.getValue().getInfo()).getShape();
          int past = shared ? n : 0;
          feed.put(in.getKey(), ai.onnxruntime.OnnxTensor.createTensor(env, java.nio.FloatBuffer.allocate((int) (shape[1] * past * shape[3])),
              new long[] {1, shape[1], past, shape[3]}));
        }
      }
      try (ai.onnxruntime.OrtSession.Result r = session.run(feed, java.util.Set.of("logits"))) {
        return (float[][][]) r.get(0).getValue();
      }
    } finally {
      feed.values().forEach(ai.onnxruntime.OnnxTensor::close);
    }
  }

  @Test
  void packageDescriptor_recordsShapesSizesAndDigests() {
    Imported i = imported("models/stories260K/stories260K.bin");
    ImportedModel imported = i.model();
    VariantDescriptor d = i.descriptor();
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

  private static DecoderModel load(String checkpoint) {
    return imported(checkpoint).decoder();
  }

  /** Imports {@code ../shared/<checkpoint>}, writes it as an fp32 package and loads it, once per class. */
  private static synchronized Imported imported(String checkpoint) {
    Path source = SharedAssets.require(checkpoint);
    Imported cached = IMPORTED.get(checkpoint);
    if (cached == null) {
      ImportedModel m = CheckpointImporter.importCheckpoint(source, null);
      Path dir = tmp.resolve("pkg-" + IMPORTED.size() + "-" + m.name());
      VariantDescriptor d = PackageWriter.write(m.ir(), m.tokenizer(),
          new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()), dir, false);
      cached = new Imported(m, d, DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS));
      IMPORTED.put(checkpoint, cached);
    }
    return cached;
  }

  /** Per window, the negative log-likelihood of each scored target (indexed by its position in the window). */
  private static double[][] targetNll(DecoderModel model, List<ScoringWindow> windows) {
    double[][] nll = new double[windows.size()][];
    try (Sequence sequence = model.newSequence()) {
      for (int w = 0; w < windows.size(); w++) {
        double[] row = nll[w] = new double[windows.get(w).tokens().length];
        Scorer.scoreWindow(sequence, w, windows.get(w), (i, position, target, logits) ->
            row[position] = Scorer.negativeLogLikelihood(logits, target));
      }
    }
    return nll;
  }

  /** {@code ../shared/models/gpt2-fixture-onnx}: the same weights exported by PyTorch, loaded once. */
  private static synchronized DecoderModel pytorchExport() {
    if (pytorchExport == null) {
      pytorchExport = DecoderModel.load(ModelPackage.open(SharedAssets.require("models/gpt2-fixture-onnx")), SessionSettings.DEFAULTS);
    }
    return pytorchExport;
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
