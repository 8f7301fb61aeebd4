package dev.edgelm.it.hub;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.hub.testing.TestPackages;
import dev.edgelm.proto.v1.Method;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * A release of three variants of one model: a real stories260K fp32 package imported by the
 * compressor when {@code ../shared} has the model, plus two synthetic variants (the hub moves bytes
 * and reads descriptors; it does not care what the weights are).
 */
final class ReleaseFixture {
  private ReleaseFixture() {}

  static List<Path> threeVariants(Path dir) {
    Path fp32 = dir.resolve("fp32");
    Path bin = SharedAssets.sharedDir().resolve("models/stories260K/stories260K.bin");
    String model;
    if (Files.isRegularFile(bin)) {
      ImportedModel m = CheckpointImporter.importCheckpoint(bin, null);
      PackageWriter.write(m.ir(), m.tokenizer(), new PackageWriter.Variant("fp32", "stories260K",
          Method.newBuilder().setName("fp32").build(), m.sourceDigest()), fp32, false);
      model = "stories260K";
    } else {
      TestPackages.write(fp32, "stories260K", "fp32", "fp32", 1 << 20, 11);
      model = "stories260K";
    }
    return List.of(fp32,
        TestPackages.write(dir.resolve("int8"), model, "int8", "int8", 256 << 10, 12),
        TestPackages.write(dir.resolve("int4"), model, "int4-g32-gptq", "int4", 128 << 10, 13));
  }
}
