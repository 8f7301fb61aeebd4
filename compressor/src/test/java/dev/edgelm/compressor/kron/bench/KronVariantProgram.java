package dev.edgelm.compressor.kron.bench;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.kron.KronOptions;
import dev.edgelm.compressor.kron.KronPreset;
import dev.edgelm.compressor.kron.KroneckerCompressor;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes the weight-only Kronecker variant of a checkpoint as a package, and its report beside it:
 * {@code java -cp <test classpath> dev.edgelm.compressor.kron.bench.KronVariantProgram CHECKPOINT OUT [preset] [permutation-iterations]}.
 * A stand-in for {@code edgelm compress --method kron} for benchmarks made before that command existed.
 */
public final class KronVariantProgram {
  private KronVariantProgram() {}

  public static void main(String[] args) throws Exception {
    Path checkpoint = Path.of(args[0]);
    Path out = Path.of(args[1]);
    KronOptions options = KronOptions.DEFAULTS.withPreset(KronPreset.fromId(args.length > 2 ? args[2] : "tq-gpt2"))
        .withPermutationIterations(args.length > 3 ? Integer.parseInt(args[3]) : KronOptions.DEFAULT_PERMUTATION_ITERATIONS);
    long t0 = System.nanoTime();
    ImportedModel imported = CheckpointImporter.importCheckpoint(checkpoint, null);
    KroneckerCompressor.Result r = KroneckerCompressor.compress(imported.ir(), options, System.err::println);
    PackageWriter.write(r.model(), imported.tokenizer(), new PackageWriter.Variant("kron-" + options.preset().id(),
        imported.name(), Method.newBuilder().setName("kron").putParams("preset", options.preset().id()).build(),
        imported.sourceDigest()), out, true);
    Files.writeString(out.resolveSibling(out.getFileName() + ".kron-report.md"), r.report().toMarkdown());
    System.err.printf("wrote %s in %.1f s%n", out, (System.nanoTime() - t0) / 1e9);
  }
}
