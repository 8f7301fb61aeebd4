package dev.edgelm.compressor.subspace;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.MethodChain;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.compressor.testing.TestPackages;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Sequence;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.ReferenceOutputs;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Architecture;
import dev.edgelm.proto.v1.SubspaceParams;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The subspace step on real models. The fold before any dimension is removed: the fp32 model and its rotation-invariant form (every
 * norm an RMSNorm of weight 1; GPT-2's stream centred; a tied head behind its adapter) give the same
 * logits, within 1e-4 at every position of the shared reference prompts, all run by the engine
 * from written packages; and so does the folded model turned by a random orthogonal Q of full
 * rank through {@link Projection} (the projection's algebra with nothing removed). Then
 * {@code subspace,int4} at 20 % on gpt2-fixture through the entry point, and bad input.
 *
 * <p>Each real checkpoint is imported and written as an fp32 package once for the class ({@link #fp32}).
 */
class SubspaceTest {
  @TempDir static Path tmp;

  private record Base(ImportedModel model, Path fp32) {}

  private static final Map<String, Base> BASES = new HashMap<>();

  /** {@code checkpoint} imported, and written once as an fp32 package. */
  private static synchronized Base fp32(String checkpoint) {
    return BASES.computeIfAbsent(checkpoint, c -> {
      ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require(c), null);
      return new Base(m, write(m, m.ir(), "fp32"));
    });
  }

  static Stream<Arguments> models() {
    return Stream.of(
        Arguments.of("models/gpt2-fixture", "reference/gpt2-fixture.json"),
        Arguments.of("models/stories260K/stories260K.bin", "reference/stories260K.json"));
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("models")
  void fold_keepsEveryLogitWithin1e4(String checkpoint, String reference) {
    ReferenceOutputs ref = ReferenceOutputs.read(SharedAssets.require(reference));
    Base base = fp32(checkpoint);
    ImportedModel m = base.model();
    ModelIr folded = RotationFold.fold(m.ir());
    List<Norm> norms = new ArrayList<>(List.of(folded.finalNorm()));
    for (Block b : folded.blocks()) {
      norms.add(b.attnNorm());
      norms.add(b.mlpNorm());
    }
    for (Norm n : norms) {
      assertTrue(n.isRms());
      for (float w : n.weight().data()) {
        assertEquals(1f, w);
      }
    }
    assertEquals(m.ir().config().hiddenSize(), folded.config().hiddenSize());
    assertTrue(folded.headAdapter() != null && (folded.headAdapter().rowMeans() != null) == m.name().startsWith("gpt2"));
    assertWithin(logits(base.fp32(), ref.cases()), logits(write(m, folded, "folded"), ref.cases()), 1e-4, "fold");
  }

  /**
   * Any orthogonal Q of full rank (here the eigenvectors of a random Gram matrix) turns the folded
   * model without changing it, with the adapter and with the untied head: stories260K (Llama) and
   * a random-weight GPT-2 (centred stream, adapter with row means), where the table is small.
   */
  @Test
  void rotation_keepsEveryLogitWithin1e4() {
    ReferenceOutputs stories = ReferenceOutputs.read(SharedAssets.require("reference/stories260K.json"));
    Path synth = tmp.resolve("gpt2-tiny-checkpoint");
    SynthCheckpoint.write(Preset.GPT2_TINY, 1, SafetensorsWriter.Dtype.F32, synth);
    for (ImportedModel m : List.of(fp32(TestPackages.STORIES).model(), CheckpointImporter.importCheckpoint(synth, null))) {
      List<ReferenceOutputs.Case> cases = m.name().startsWith("stories") ? stories.cases()
          : List.of(new ReferenceOutputs.Case("synthetic", new int[] {1, 5, 9, 200, 17, 3, 77, 4}, null, null, null, null));
      ModelIr folded = RotationFold.fold(m.ir());
      int d = folded.config().hiddenSize();
      double[] q = SubspaceCompressor.topEigenvectors(randomGram(d, 7), d, d).q();
      float[][][] base = logits(write(m, m.ir(), "rotation-base"), cases);
      assertWithin(base, logits(write(m, Projection.project(folded, q, d, false), "rotated"), cases), 1e-4,
          m.name() + " rotation");
      assertWithin(base, logits(write(m, Projection.project(folded, q, d, true), "untied"), cases), 1e-4,
          m.name() + " rotation, untied head");
    }
  }

  /**
   * {@code subspace,int4} at 20 % on gpt2-fixture: the package records K = 208 (0.8 × 256 rounded to
   * 16), ε·D/K, the step and its parameters, one table; the engine loads it, it generates, and at
   * the reference prompts' positions its next-token choice agrees with the base's at least 80 % of
   * the time (the fp32 projection agrees 96 % on WikiText-2, docs/COMPRESSION.md).
   */
  @Test
  void subspaceInt4_writesANarrowerPackageTheEngineRuns() throws Exception {
    Path fp32 = fp32(TestPackages.GPT2).fp32();
    Path calib = TestPackages.prefix(TestPackages.SHAKESPEARE, 60_000, tmp.resolve("calib.txt"));
    Path out = tmp.resolve("subspace-int4");
    List<Method> chain = MethodChain.parse("subspace,int4", Map.of("target-ratio", "0.2"), "--", 2, true);
    Compressor.Compressed c = Compressor.compress(new VariantJob(fp32, out, null, false, calib,
        CalibrationOptions.DEFAULTS.withSequences(16).withSequenceLength(128).withThreads(2)), chain, line -> {});

    VariantDescriptor d = c.descriptor();
    Architecture a = d.getArchitecture();
    assertEquals(208, a.getHiddenSize());
    assertEquals(c.baseDescriptor().getArchitecture().getNormEps() * 256 / 208, a.getNormEps(), 1e-9);
    assertEquals(List.of("subspace", "int4"), d.getChainList().stream().map(s -> s.getName()).toList());
    SubspaceParams p = d.getChain(0).getSubspace();
    assertEquals(256, p.getHiddenBefore());
    assertEquals(208, p.getHidden());
    assertEquals("adapter", p.getHead());
    assertTrue(p.getKeptEnergy() > 0.5 && p.getKeptEnergy() < 1, "kept energy " + p.getKeptEnergy());
    assertTrue(d.getParameterCount() < c.baseDescriptor().getParameterCount() * 0.85, d.getParameterCount() + " parameters");
    assertTrue(a.getTiedEmbeddings(), "one table for the lookup and the head");

    ReferenceOutputs ref = ReferenceOutputs.read(SharedAssets.require("reference/gpt2-fixture.json"));
    int agree = 0;
    int positions = 0;
    try (DecoderModel base = DecoderModel.load(ModelPackage.open(fp32), SessionSettings.DEFAULTS);
        DecoderModel variant = DecoderModel.load(ModelPackage.open(out), SessionSettings.DEFAULTS)) {
      for (ReferenceOutputs.Case rc : ref.cases()) {
        try (Sequence sb = base.newSequence(); Sequence sv = variant.newSequence()) {
          float[][] lb = sb.appendAll(rc.promptIds());
          float[][] lv = sv.appendAll(rc.promptIds());
          for (int i = 0; i < lb.length; i++) {
            agree += argmax(lb[i]) == argmax(lv[i]) ? 1 : 0;
            positions++;
          }
        }
      }
      GenerationResult g = Generation.stream(variant, GenerationRequest.ofText("The history of").withMaxTokens(24), t -> {});
      assertEquals(24, g.tokenIds().length);
      assertFalse(g.text().isBlank());
    }
    assertTrue(agree >= 0.8 * positions, "top-1 agreement with the base " + agree + "/" + positions);
  }

  @Test
  void badInput_isOneLineUsageError_beforeAnythingIsWritten() {
    ModelConfig stories = new ModelConfig(Family.LLAMA, 512, 64, 172, 5, 8, 4, 8, 512, 1e-5f, 10000f, true, "silu");
    UsageException notSmaller = assertThrows(UsageException.class, () -> new SubspaceOptions(64, 0, false).keptHidden(stories));
    assertTrue(notSmaller.getMessage().contains("not smaller than the hidden size 64"), notSmaller.getMessage());
    UsageException rounded = assertThrows(UsageException.class, () -> new SubspaceOptions(60, 0, false).keptHidden(stories));
    assertTrue(rounded.getMessage().contains("K = 64 (rounded to a multiple of 16)"), rounded.getMessage());
    UsageException tooSmall = assertThrows(UsageException.class, () -> new SubspaceOptions(0, 0.95, false).keptHidden(stories));
    assertTrue(tooSmall.getMessage().contains("below the 16"), tooSmall.getMessage());
    assertEquals(48, new SubspaceOptions(0, 0.3, false).keptHidden(stories));

    for (Map<String, String> o : List.of(Map.<String, String>of(), Map.of("hidden", "48", "target-ratio", "0.2"),
        Map.of("target-ratio", "1"), Map.of("hidden", "0"), Map.of("target-ratio", "0.2", "per-boundary", "true"))) {
      UsageException e = assertThrows(UsageException.class, () -> MethodChain.parse("subspace", o, "--", 1, true), o.toString());
      assertFalse(e.getMessage().contains("\n"), e.getMessage());
    }
    UsageException order = assertThrows(UsageException.class,
        () -> MethodChain.parse("int4,subspace", Map.of("target-ratio", "0.2"), "--", 1, true));
    assertTrue(order.getMessage().contains("subspace cannot follow int4"), order.getMessage());
    Path out = tmp.resolve("never-written");
    UsageException noCalib = assertThrows(UsageException.class, () -> Compressor.compress(
        new VariantJob(tmp.resolve("missing-base"), out, null, false, null, null),
        MethodChain.parse("subspace", Map.of("hidden", "32"), "--", 1, false), line -> {}));
    assertTrue(noCalib.getMessage().contains("pass --calib FILE"), noCalib.getMessage());
    assertFalse(Files.exists(out));
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

  private static double[] randomGram(int d, long seed) {
    java.util.Random r = new java.util.Random(seed);
    double[] a = new double[d * d];
    for (int i = 0; i < a.length; i++) {
      a[i] = r.nextGaussian();
    }
    double[] g = new double[d * d];
    for (int i = 0; i < d; i++) {
      for (int j = 0; j < d; j++) {
        double s = 0;
        for (int t = 0; t < d; t++) {
          s += a[i * d + t] * a[j * d + t];
        }
        g[i * d + j] = s;
      }
    }
    return g;
  }

  /** Every prompt position's logits of the reference prompts, run by the engine from {@code dir}. */
  private static float[][][] logits(Path dir, List<ReferenceOutputs.Case> cases) {
    List<float[][]> out = new ArrayList<>();
    try (DecoderModel model = DecoderModel.load(ModelPackage.open(dir), SessionSettings.DEFAULTS)) {
      for (ReferenceOutputs.Case c : cases) {
        try (Sequence s = model.newSequence()) {
          out.add(s.appendAll(c.promptIds()));
        }
      }
    }
    return out.toArray(new float[0][][]);
  }

  private static void assertWithin(float[][][] expected, float[][][] got, double tolerance, String what) {
    double worst = 0;
    for (int c = 0; c < expected.length; c++) {
      for (int p = 0; p < expected[c].length; p++) {
        for (int v = 0; v < expected[c][p].length; v++) {
          worst = Math.max(worst, Math.abs(expected[c][p][v] - got[c][p][v]));
        }
      }
    }
    assertTrue(worst <= tolerance, "largest logit difference after the " + what + ": " + worst);
  }

  private static Path write(ImportedModel m, ModelIr ir, String id) {
    Path dir = tmp.resolve(m.name() + "-" + m.ir().config().hiddenSize() + "-" + id);
    PackageWriter.write(ir, m.tokenizer(),
        new PackageWriter.Variant(id, m.name(), dev.edgelm.proto.v1.Method.newBuilder().setName(id).build(), m.sourceDigest()), dir, false);
    return dir;
  }
}
