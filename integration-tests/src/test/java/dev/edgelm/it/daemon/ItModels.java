package dev.edgelm.it.daemon;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Model packages for the daemon ITs, made with the compressor once and kept under
 * {@code integration-tests/target/it-models} (a rerun reuses them; {@code mvn clean} drops them):
 * stories260K (real weights, from {@code ../shared}; tests skip without it) and a synthetic
 * GPT-2 small (124M random weights, about 20 ms a token here: slow enough to cancel mid-stream).
 */
public final class ItModels {
  private ItModels() {}

  private static Path dir() {
    return SharedAssets.repositoryRoot().resolve("integration-tests/target/it-models");
  }

  public static synchronized Path stories260K() {
    Path bin = SharedAssets.require("models/stories260K/stories260K.bin");
    return cached("stories260K", out -> write(CheckpointImporter.importCheckpoint(bin, null), "stories260K", out));
  }

  public static synchronized Path gpt2Small() {
    return cached("gpt2-small", out -> {
      Path ckpt = out.resolveSibling(out.getFileName() + ".ckpt");
      SynthCheckpoint.write(Preset.fromId("gpt2-small"), 0, SafetensorsWriter.Dtype.F32, ckpt);
      try {
        write(CheckpointImporter.importCheckpoint(ckpt, null), "gpt2-small", out);
      } finally {
        delete(ckpt);
      }
    });
  }

  private interface Maker {
    void make(Path out) throws IOException;
  }

  private static Path cached(String name, Maker maker) {
    Path target = dir().resolve(name);
    if (Files.isRegularFile(target.resolve("variant.json"))) {
      return target;
    }
    Path tmp = dir().resolve(name + ".partial");
    try {
      delete(tmp);
      Files.createDirectories(dir());
      maker.make(tmp);
      delete(target);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static void write(ImportedModel m, String name, Path out) {
    PackageWriter.write(m.ir(), m.tokenizer(), new PackageWriter.Variant("fp32", name, Method.newBuilder().setName("fp32").build(),
        m.sourceDigest()), out, false);
  }

  private static void delete(Path p) {
    if (!Files.exists(p)) {
      return;
    }
    try (Stream<Path> s = Files.walk(p)) {
      for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
        Files.delete(x);
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
