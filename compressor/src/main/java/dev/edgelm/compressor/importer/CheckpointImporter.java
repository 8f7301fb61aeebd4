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
  /**
   * The weights of a checkpoint and where they came from.
   *
   * @param unusedTensors tensors of the checkpoint the model does not use (only with {@code allowUnused}), sorted
   */
  public record Weights(String name, ModelIr ir, String sourceDigest, Kind kind, List<String> unusedTensors) {}

  /** The checkpoint formats edgelm reads. */
  public enum Kind {
    HUGGING_FACE,
    LLAMA2C
  }

  /** How many unused tensor names an error or warning spells out. */
  static final int NAMES_SHOWN = 5;

  private CheckpointImporter() {}

  /**
   * Reads a checkpoint and finds its tokenizer; a checkpoint holding tensors the model does not use
   * is refused (see {@link #readWeights(Path, boolean)}).
   *
   * @param tokenizer a tokenizer file given by the user ({@code --tokenizer}), or null to look for
   *     one in (HF) or beside (llama2.c) the checkpoint
   */
  public static ImportedModel importCheckpoint(Path source, Path tokenizer) {
    return importCheckpoint(source, tokenizer, false);
  }

  /** {@link #importCheckpoint(Path, Path)}, keeping a checkpoint with unused tensors when {@code allowUnused}. */
  public static ImportedModel importCheckpoint(Path source, Path tokenizer, boolean allowUnused) {
    Weights weights = readWeights(source, allowUnused);
    return new ImportedModel(weights.name(), weights.ir(),
        TokenizerImport.resolve(weights, source.toAbsolutePath().normalize(), tokenizer), weights.sourceDigest(),
        weights.unusedTensors());
  }

  /** Reads the weights of {@code source}, refusing tensors the model would not use. */
  public static Weights readWeights(Path source) {
    return readWeights(source, false);
  }

  /**
   * Reads the weights of {@code source}.
   *
   * <p>Every tensor of a Hugging Face checkpoint must end up in the model, except buffers that are
   * not weights (GPT-2's causal mask, Llama's rotary frequencies) and a stored head the config ties
   * to the embedding. Anything else unused means config.json and the weights disagree (e.g. fewer
   * {@code n_layer} than the checkpoint has), and importing would silently drop trained weights.
   *
   * @param allowUnused keep going and report the unused tensors in {@link Weights#unusedTensors()}
   * @throws CheckpointException naming the first few unused tensors, unless {@code allowUnused}
   */
  public static Weights readWeights(Path source, boolean allowUnused) {
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
        boolean tied = ir.config().tiedEmbeddings();
        List<String> unused = ckpt.unread(type.equals("gpt2") ? n -> HfGpt2Importer.ignorable(n, tied) : n -> HfLlamaImporter.ignorable(n, tied));
        if (!unused.isEmpty() && !allowUnused) {
          throw new CheckpointException(src + " holds " + describeUnused(unused) + " that config.json does not use"
              + " (does it name too few layers?); fix config.json, or import with 'edgelm import --allow-unused' to leave them out");
        }
        return new Weights(src.getFileName().toString(), ir, digest(ckpt.weightFiles()), Kind.HUGGING_FACE, unused);
      } catch (IllegalArgumentException e) {
        throw new CheckpointException(src + " is inconsistent: " + e.getMessage(), e);
      }
    }
    if (Files.isRegularFile(src)) {
      try {
        ModelIr ir = Llama2cImporter.read(src);
        String name = src.getFileName().toString().replaceFirst("\\.bin$", "");
        return new Weights(name, ir, digest(List.of(src)), Kind.LLAMA2C, List.of());
      } catch (IllegalArgumentException e) {
        throw new CheckpointException(src + " is inconsistent: " + e.getMessage(), e);
      }
    }
    throw new CheckpointException(src + " does not exist; give a Hugging Face checkpoint directory or a llama2.c .bin file");
  }

  /** "3 tensors (a, b, c)" or "24 tensors (a, b, c, d, e, and 19 more)". */
  public static String describeUnused(List<String> unused) {
    String shown = String.join(", ", unused.subList(0, Math.min(NAMES_SHOWN, unused.size())));
    int more = unused.size() - NAMES_SHOWN;
    return unused.size() + (unused.size() == 1 ? " tensor (" : " tensors (") + shown + (more > 0 ? ", and " + more + " more" : "") + ")";
  }

  private static String digest(List<Path> files) {
    try {
      return Digests.sha256Of(files);
    } catch (IOException e) {
      throw new CheckpointException("cannot read " + files + ": " + e.getMessage(), e);
    }
  }
}
