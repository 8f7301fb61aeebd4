package dev.edgelm.compressor.testing;

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

/** Packages and texts the compressor's tests build from {@code ../shared} (skipping when it is absent). */
public final class TestPackages {
  public static final String STORIES = "models/stories260K/stories260K.bin";
  public static final String GPT2 = "models/gpt2-fixture";
  public static final String TINYSTORIES = "corpora/tinystories-valid.head32k.txt";
  public static final String WIKITEXT = "corpora/wikitext2-raw-test-a.txt";
  public static final String SHAKESPEARE = "corpora/tinyshakespeare.txt";
  public static final String DOC_SEPARATOR = "<|endoftext|>";

  private TestPackages() {}

  /** Imports {@code ../shared/<checkpoint>} as an fp32 package at {@code out}, as {@code edgelm import} does. */
  public static Path importFp32(String checkpoint, Path out) {
    ImportedModel m = CheckpointImporter.importCheckpoint(SharedAssets.require(checkpoint), null);
    PackageWriter.write(m.ir(), m.tokenizer(),
        new PackageWriter.Variant("fp32", m.name(), Method.newBuilder().setName("fp32").build(), m.sourceDigest()), out, false);
    return out;
  }

  /**
   * Calibration text for stories260K, disjoint from the TinyStories evaluation file: stories the base
   * model writes itself, exactly what this shell loop writes:
   * <pre>for i in $(seq 1 64); do printf "Once upon a time"; ./edgelm generate --model DIR --prompt "Once upon a time" \
   *   --temperature 1 --seed $i --max-tokens 400; echo; echo; done</pre>
   */
  public static Path selfGeneratedStories(Path fp32Package, int stories, Path out) throws IOException {
    StringBuilder text = new StringBuilder();
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(fp32Package), SessionSettings.DEFAULTS)) {
      for (int seed = 1; seed <= stories; seed++) {
        text.append("Once upon a time");
        GenerationRequest request = GenerationRequest.ofText("Once upon a time").withMaxTokens(400)
            .withSampling(new SamplingOptions(1f, 0, 1f, 1f, OptionalLong.of(seed), 0));
        Generation.stream(m, request, text::append);
        text.append("\n\n");
      }
    }
    Files.writeString(out, text.toString(), StandardCharsets.UTF_8);
    return out;
  }

  /** The first {@code chars} characters of a ../shared text, written to {@code out}. */
  public static Path prefix(String text, int chars, Path out) throws IOException {
    String s = Files.readString(SharedAssets.require(text), StandardCharsets.UTF_8);
    Files.writeString(out, s.substring(0, Math.min(chars, s.length())), StandardCharsets.UTF_8);
    return out;
  }
}
