package dev.edgelm.compressor.importer;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.ModelIr;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * Reads a checkpoint into the model IR: a Hugging Face directory ({@code config.json} +
 * safetensors, {@code model_type} gpt2 or llama) or a llama2.c {@code .bin} file.
 */
public final class CheckpointImporter {
  /** The weights of a checkpoint and where they came from. */
  public record Weights(String name, ModelIr ir, String sourceDigest, Kind kind) {}

  /** The checkpoint formats edgelm reads. */
  public enum Kind {
    HUGGING_FACE,
    LLAMA2C
  }

  private CheckpointImporter() {}

  /**
   * Reads a checkpoint and finds its tokenizer.
   *
   * @param tokenizer a tokenizer file given by the user ({@code --tokenizer}), or null to look for
   *     one in (HF) or beside (llama2.c) the checkpoint
   */
  public static ImportedModel importCheckpoint(Path source, Path tokenizer) {
    Weights weights = readWeights(source);
    return new ImportedModel(weights.name(), weights.ir(),
        TokenizerImport.resolve(weights, source.toAbsolutePath().normalize(), tokenizer), weights.sourceDigest());
  }

  /** Reads the weights of {@code source}. */
  public static Weights readWeights(Path source) {
    Path src = source.toAbsolutePath().normalize();
    if (Files.isDirectory(src)) {
      try (HfCheckpoint ckpt = HfCheckpoint.open(src)) {
        String type = ckpt.stringConfig("model_type", "");
        ModelIr ir = switch (type) {
          case "gpt2" -> HfGpt2Importer.read(ckpt);
          case "llama" -> HfLlamaImporter.read(ckpt);
          default -> throw new CheckpointException(src.resolve("config.json") + " has model_type '" + type
              + "'; edgelm imports gpt2 and llama checkpoints");
        };
        return new Weights(src.getFileName().toString(), ir, digest(ckpt.weightFiles()), Kind.HUGGING_FACE);
      } catch (IllegalArgumentException e) {
        throw new CheckpointException(src + " is inconsistent: " + e.getMessage(), e);
      }
    }
    if (Files.isRegularFile(src)) {
      try {
        ModelIr ir = Llama2cImporter.read(src);
        String name = src.getFileName().toString().replaceFirst("\\.bin$", "");
        return new Weights(name, ir, digest(List.of(src)), Kind.LLAMA2C);
      } catch (IllegalArgumentException e) {
        throw new CheckpointException(src + " is inconsistent: " + e.getMessage(), e);
      }
    }
    throw new CheckpointException(src + " does not exist; give a Hugging Face checkpoint directory or a llama2.c .bin file");
  }

  private static String digest(List<Path> files) {
    try {
      return Digests.sha256Of(files);
    } catch (IOException e) {
      throw new CheckpointException("cannot read " + files + ": " + e.getMessage(), e);
    }
  }
}
