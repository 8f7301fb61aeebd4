package dev.edgelm.it.daemon;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.it.testing.EdgelmCommand;
import dev.edgelm.proto.v1.Method;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Model packages for the ITs, made once and kept under
 * {@code integration-tests/target/it-models} (a rerun reuses them; {@code mvn clean} drops them):
 * stories260K (real weights, from {@code ../shared}; tests skip without it) and a synthetic
 * GPT-2 small (124M random weights, about 20 ms a token here: slow enough to cancel mid-stream).
 *
 * <p>GPT-2 small is made as a user makes it, with {@code ./edgelm synth} and {@code ./edgelm import},
 * and the import's stderr is kept: {@code ModelCoreIT} checks those two commands on this package, so
 * a suite writes and imports its 500 MB of weights once, not once per class that needs it.
 */
public final class ItModels {
  private static final Duration CLI_TIMEOUT = Duration.ofMinutes(10);

  private ItModels() {}

  private static Path dir() {
    return SharedAssets.repositoryRoot().resolve("integration-tests/target/it-models");
  }

  public static synchronized Path stories260K() {
    Path bin = SharedAssets.require("models/stories260K/stories260K.bin");
    return cached("stories260K", out -> write(CheckpointImporter.importCheckpoint(bin, null), "stories260K", out));
  }

  /** The fp32 package of synthetic GPT-2 small (seed 0), named {@code gpt2-small}. */
  public static synchronized Path gpt2Small() {
    return gpt2SmallCli().resolve("package");
  }

  /** What {@code ./edgelm import} printed on stderr when it made {@link #gpt2Small()}. */
  public static synchronized String gpt2SmallImportLog() {
    try {
      return Files.readString(gpt2SmallCli().resolve("import.stderr"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static Path gpt2SmallCli() {
    return cached("gpt2-small-cli", List.of("package/variant.json", "import.stderr"), out -> {
      Path work = Files.createDirectories(out.resolve("work")); // the checkpoint and the commands' output files
      Path ckpt = work.resolve("checkpoint");
      cli(work, "synth", "--preset", "gpt2-small", "--out", ckpt.toString());
      EdgelmCommand.Result imported = cli(work, "import", ckpt.toString(), "--name", "gpt2-small", "--out",
          out.resolve("package").toString());
      delete(work);
      Files.writeString(out.resolve("import.stderr"), imported.err(), StandardCharsets.UTF_8);
    });
  }

  private static EdgelmCommand.Result cli(Path workDir, String... args) throws IOException {
    try {
      return EdgelmCommand.run(workDir, CLI_TIMEOUT, args).assertSuccess();
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new IOException("interrupted while running edgelm " + String.join(" ", args), e);
    }
  }

  private interface Maker {
    void make(Path out) throws IOException;
  }

  private static Path cached(String name, Maker maker) {
    return cached(name, List.of("variant.json"), maker);
  }

  /** {@code dir()/name}, made by {@code maker} (into a partial directory renamed when done) unless all of {@code complete} exist. */
  private static Path cached(String name, List<String> complete, Maker maker) {
    Path target = dir().resolve(name);
    if (complete.stream().allMatch(f -> Files.isRegularFile(target.resolve(f)))) {
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
