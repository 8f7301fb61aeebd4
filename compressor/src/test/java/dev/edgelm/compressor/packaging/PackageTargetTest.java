package dev.edgelm.compressor.packaging;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** What {@code --force} may replace and which outputs are refused, on a synthesized tiny Llama. */
class PackageTargetTest {
  @TempDir static Path shared;
  @TempDir Path tmp;
  private static Path checkpoint;
  private static ImportedModel model;

  @BeforeAll
  static void synthesize() {
    checkpoint = shared.resolve("ckpt");
    SynthCheckpoint.write(Preset.LLAMA_TINY, 0, SafetensorsWriter.Dtype.F32, checkpoint);
    model = CheckpointImporter.importCheckpoint(checkpoint, null);
  }

  private static void write(Path out, boolean replace, List<Path> inputs) {
    PackageWriter.write(model.ir(), model.tokenizer(),
        new PackageWriter.Variant("fp32", "tiny", Method.newBuilder().setName("fp32").build(), model.sourceDigest()),
        new PackageWriter.Target(out, replace, inputs));
  }

  @Test
  void force_onDirectoryThatIsNotAPackage_refusesAndTouchesNothing() throws Exception {
    Path project = tmp.resolve("project");
    Files.createDirectories(project.resolve("src"));
    Files.writeString(project.resolve("src/Main.java"), "class Main {}");
    UsageException e = assertThrows(UsageException.class, () -> write(project, true, List.of()));
    assertTrue(e.getMessage().contains("is not an edgelm package"), e.getMessage());
    assertEquals("class Main {}", Files.readString(project.resolve("src/Main.java")));
    assertEquals(List.of(project), siblings(tmp), "no partial left beside it");
  }

  @Test
  void force_onDirectoryWithUnparseableDescriptor_refuses() throws Exception {
    Path dir = tmp.resolve("odd");
    Files.createDirectories(dir);
    Files.writeString(dir.resolve("variant.json"), "not json");
    assertThrows(UsageException.class, () -> write(dir, true, List.of()));
    assertEquals("not json", Files.readString(dir.resolve("variant.json")));
  }

  @Test
  void force_onPackage_replacesIt() throws Exception {
    Path out = tmp.resolve("pkg");
    write(out, false, List.of());
    Files.writeString(out.resolve("stray.txt"), "left by the old package");
    write(out, true, List.of());
    assertTrue(PackageWriter.isPackage(out));
    assertFalse(Files.exists(out.resolve("stray.txt")), "the old package was replaced whole");
    assertEquals(List.of(out), siblings(tmp), "neither the partial nor the old package is left");
  }

  @Test
  void withoutForce_existingPackageIsRefused() {
    Path out = tmp.resolve("pkg");
    write(out, false, List.of());
    UsageException e = assertThrows(UsageException.class, () -> write(out, false, List.of()));
    assertTrue(e.getMessage().contains("--force"), e.getMessage());
  }

  @Test
  void outputThatIsAnInput_isRefused() {
    UsageException e = assertThrows(UsageException.class, () -> write(checkpoint, true, List.of(checkpoint)));
    assertTrue(e.getMessage().contains("is the input"), e.getMessage());
    assertTrue(Files.exists(checkpoint.resolve("model.safetensors")));
  }

  @Test
  void outputThatContainsAnInput_isRefused() throws Exception {
    Path pkg = tmp.resolve("pkg");
    write(pkg, false, List.of());
    Path calib = pkg.resolve("calib.txt");
    Files.writeString(calib, "text");
    UsageException e = assertThrows(UsageException.class, () -> write(pkg, true, List.of(calib)));
    assertTrue(e.getMessage().contains("contains the input"), e.getMessage());
    assertTrue(Files.exists(calib));
  }

  @Test
  void outputInsideAnInput_isRefused_evenThroughASymlink() throws Exception {
    Path base = tmp.resolve("base");
    write(base, false, List.of());
    Path link = tmp.resolve("link");
    Files.createSymbolicLink(link, base);
    UsageException e = assertThrows(UsageException.class, () -> write(link.resolve("variant"), true, List.of(base)));
    assertTrue(e.getMessage().contains("is inside the input"), e.getMessage());
    UsageException same = assertThrows(UsageException.class, () -> write(link, true, List.of(base)));
    assertTrue(same.getMessage().contains("is the input"), same.getMessage());
  }

  @Test
  void synthCheckpoint_replacesOnlyASynthesizedCheckpoint() throws Exception {
    Path out = tmp.resolve("synth");
    SynthCheckpoint.write(Preset.LLAMA_TINY, 1, SafetensorsWriter.Dtype.F32, out);
    long first = Files.size(out.resolve("model.safetensors"));
    SynthCheckpoint.write(Preset.LLAMA_TINY, 2, SafetensorsWriter.Dtype.F32, out, true);
    assertEquals(first, Files.size(out.resolve("model.safetensors")));
    Path user = tmp.resolve("user");
    Files.createDirectories(user);
    Files.writeString(user.resolve("notes.txt"), "mine");
    assertThrows(UsageException.class, () -> SynthCheckpoint.write(Preset.LLAMA_TINY, 1, SafetensorsWriter.Dtype.F32, user, true));
    assertEquals("mine", Files.readString(user.resolve("notes.txt")));
    assertNotEquals(List.of(), siblings(tmp));
  }

  private static List<Path> siblings(Path dir) throws Exception {
    try (var s = Files.list(dir)) {
      return s.sorted().toList();
    }
  }
}
