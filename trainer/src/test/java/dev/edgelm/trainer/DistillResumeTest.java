package dev.edgelm.trainer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.distill.DistillOptions;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.kron.KronOptions;
import dev.edgelm.compressor.kron.KronPreset;
import dev.edgelm.compressor.kron.KroneckerCompressor;
import dev.edgelm.compressor.packaging.PackageReader;
import dev.edgelm.engine.testing.SharedAssets;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Long work survives kill -9: a run killed (SIGKILL, in its own JVM) after its checkpoint at step
 * 6 of 8 and started again resumes there and ends with exactly the student an uninterrupted run
 * with the same seed makes.
 */
class DistillResumeTest {
  static final int STEPS = 8;
  @TempDir Path tmp;

  /** The run both processes make: stories260K kron 0.65, 8 steps of 2 × 32 tokens, a checkpoint every 3 steps. */
  static StepResult run(PackageReader.BasePackage base, Path text, Path work, Consumer<String> progress) {
    ModelIr student = KroneckerCompressor.compress(base.ir(),
        KronOptions.DEFAULTS.withPreset(KronPreset.AUTO).withTargetRatio(0.65).withThreads(1), line -> {}).model();
    DistillOptions options = new DistillOptions(text, STEPS * 2 * 32, 3e-3, 2, 32, 16, 0.01, 3, 7, 1);
    return new TorchDistiller(() -> 0L).distill(student, options, base, work, progress);
  }

  @Test
  @Timeout(value = 5, unit = TimeUnit.MINUTES)
  void killedAfterACheckpoint_resumesToTheUninterruptedResult() throws Exception {
    Path basePkg = TrainerFixtures.storiesBase(tmp);
    Path text = tmp.resolve("shakespeare.txt");
    Files.writeString(text, Files.readString(SharedAssets.require("corpora/tinyshakespeare.txt"), StandardCharsets.UTF_8)
        .substring(0, 20_000), StandardCharsets.UTF_8);
    PackageReader.BasePackage base = PackageReader.read(basePkg);

    Path killedWork = tmp.resolve("killed.distill");
    String park = "distill: checkpoint at step 6";
    Process child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-cp", System.getProperty("java.class.path"), ResumeChild.class.getName(),
        basePkg.toString(), text.toString(), killedWork.toString(), park).redirectErrorStream(true).start();
    List<String> childLines = new ArrayList<>();
    try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
      for (String line = out.readLine(); line != null && !line.equals(park); line = out.readLine()) {
        childLines.add(line);
      }
      assertTrue(child.isAlive(), "the child reached its checkpoint and waits to be killed: " + childLines);
      child.destroyForcibly(); // SIGKILL
      child.waitFor();
    }
    assertTrue(Files.isRegularFile(killedWork.resolve(Checkpoints.FILE)), "the checkpoint survives the kill");

    List<String> resumedLines = new ArrayList<>();
    ModelIr resumed = run(base, text, killedWork, resumedLines::add).model();
    assertTrue(resumedLines.contains("distill: resuming from the checkpoint at step 6/" + STEPS), "resumed: " + resumedLines);
    assertTrue(resumedLines.contains("teacher logits: reusing " + killedWork.resolve("teacher-topk.bin")), "teacher logits reused");

    ModelIr uninterrupted = run(base, text, tmp.resolve("straight.distill"), line -> {}).model();
    Map<String, Linear> a = uninterrupted.linears();
    Map<String, Linear> b = resumed.linears();
    assertEquals(a.keySet(), b.keySet());
    for (String name : a.keySet()) {
      assertArrayEquals(a.get(name).weight().toDense().data(), b.get(name).weight().toDense().data(), name);
    }
    assertArrayEquals(uninterrupted.tokenEmbedding().toDense().data(), resumed.tokenEmbedding().toDense().data(), "tok_embed");
    assertArrayEquals(uninterrupted.finalNorm().weight().data(), resumed.finalNorm().weight().data(), "final_norm");
  }
}
