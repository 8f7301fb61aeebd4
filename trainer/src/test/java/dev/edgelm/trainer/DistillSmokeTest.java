package dev.edgelm.trainer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.MethodChain;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Scorer;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.DistillParams;
import dev.edgelm.proto.v1.Step;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CI smoke test of issue 14: stories260K made 0.65× by Kronecker factorisation, then distilled
 * on 10k tokens of text the base wrote itself (data-free distillation), through the compressor's
 * one entry point as the CLI runs it. The loss falls, the package loads and generates, and it
 * scores better on held-out TinyStories than the same student without the distill step.
 */
class DistillSmokeTest {
  @TempDir Path tmp;

  @Test
  void kronDistill_10kTokens_lossFalls_andBeatsTheUndistilledStudentOnHeldOutText() throws Exception {
    Path base = TrainerFixtures.storiesBase(tmp);
    Path train = TrainerFixtures.selfGeneratedStories(base, tmp.resolve("train.txt"));
    List<String> lines = new ArrayList<>();
    Map<String, String> kron = Map.of("preset", "auto", "target-ratio", "0.65");
    List<Method> plain = MethodChain.parse("kron", kron, "--", 2, false);
    List<Method> distilled = MethodChain.parse("kron,distill", Map.of("preset", "auto", "target-ratio", "0.65",
        "train-text", train.toString(), "train-tokens", "10k", "batch", "8", "seq-len", "128", "lr", "0.003"), "--", 2, false);
    Path kronPkg = tmp.resolve("kron");
    Path distilledPkg = tmp.resolve("kron-distill");
    Compressor.Compressed k = Compressor.compress(new VariantJob(base, kronPkg, null, false, null, null), plain, line -> {});
    Compressor.Compressed c = Compressor.compress(new VariantJob(base, distilledPkg, null, false, null, null), distilled, lines::add);

    Step step = c.descriptor().getChain(1);
    DistillParams p = step.getDistill();
    assertEquals("distill", step.getName());
    assertTrue(p.getTrainTokens() >= 10_000 && p.getSteps() == 10, "steps " + p.getSteps() + ", tokens " + p.getTrainTokens());
    assertTrue(p.getTrainText().getDigest().startsWith("sha256:"), "the data digest is recorded");
    assertTrue(p.getLossLast() < 0.8 * p.getLossFirst(), "loss falls: " + p.getLossFirst() + " -> " + p.getLossLast());
    assertTrue(lines.stream().anyMatch(l -> l.matches("distill: step 10/10 \\(100%\\), loss [0-9.]+, [0-9,]+ tokens/s, ETA 0:00")),
        "a progress line with tokens/s, loss and ETA: " + lines);
    assertFalse(Files.exists(tmp.resolve(".kron-distill.distill")), "the work directory is removed after a finished run");
    assertEquals(k.descriptor().getParameterCount(), c.descriptor().getParameterCount(),
        "the student keeps its compressed parametrisation");
    assertEquals(Files.size(kronPkg.resolve("model.onnx")), Files.size(distilledPkg.resolve("model.onnx")),
        "written in the same compressed form");

    String heldOut = Files.readString(SharedAssets.require("corpora/tinystories-valid.head32k.txt"), StandardCharsets.UTF_8)
        .substring(0, 6000);
    double before = perplexity(kronPkg, heldOut);
    double after = perplexity(distilledPkg, heldOut);
    double teacher = perplexity(base, heldOut);
    assertTrue(after < before, "held-out perplexity: base " + teacher + ", kron " + before + ", kron+distill " + after);
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(distilledPkg), SessionSettings.DEFAULTS)) {
      StringBuilder text = new StringBuilder();
      Generation.stream(m, GenerationRequest.ofText("Once upon a time").withMaxTokens(20), text::append);
      assertFalse(text.toString().isBlank(), "the distilled package generates");
    }
    System.out.printf("stories260K kron 0.65: held-out ppl base %.3f, kron %.3f, kron+distill %.3f; %s%n", teacher, before, after,
        lines.get(lines.size() - 1));
  }

  private static double perplexity(Path pkg, String text) {
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(pkg), SessionSettings.DEFAULTS)) {
      return Scorer.perplexity(m, ScoringPlan.slidingWindow(m, text)).perplexity();
    }
  }
}
