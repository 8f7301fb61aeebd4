package dev.edgelm.trainer;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SamplingOptions;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.proto.v1.Method;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.OptionalLong;

/** Packages and texts the trainer's tests build from {@code ../shared} (skipping when it is absent). */
final class TrainerFixtures {
  private TrainerFixtures() {}

  /** stories260K imported as an fp32 package under {@code dir}, as {@code edgelm import} writes it. */
  static Path storiesBase(Path dir) {
    ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require("models/stories260K/stories260K.bin"), null);
    Path out = dir.resolve("base");
    PackageWriter.write(m.ir(), m.tokenizer(),
        new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()), out, false);
    return out;
  }

  /**
   * Training text for stories260K that is not the evaluation text: 40 stories the base writes
   * itself from "Once upon a time" (temperature 1, seeds 1..40), about 14k tokens.
   */
  static Path selfGeneratedStories(Path base, Path out) throws IOException {
    StringBuilder text = new StringBuilder();
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(base), SessionSettings.DEFAULTS)) {
      for (int seed = 1; seed <= 40; seed++) {
        text.append("Once upon a time");
        GenerationRequest request = GenerationRequest.ofText("Once upon a time").withMaxTokens(350)
            .withSampling(new SamplingOptions(1f, 0, 1f, 1f, OptionalLong.of(seed), 0));
        Generation.stream(m, request, text::append);
        text.append("\n\n");
      }
    }
    Files.writeString(out, text.toString(), StandardCharsets.UTF_8);
    return out;
  }
}
