package dev.edgelm.compressor.importer;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.packaging.PackageTokenizer;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.EngineException;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.engine.tokenizer.Tokenizers;
import dev.edgelm.proto.v1.TokenizerSpec;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds the tokenizer that goes with a checkpoint, checks that it loads and fits the model's
 * vocabulary, and decides the file names it will have inside the package.
 *
 * <p>Files keep their canonical names in the package ({@code tokenizer.json}, {@code vocab.json} +
 * {@code merges.txt}, or {@code tokenizer.bin}) whatever they were called at the source, so a
 * package is always readable by {@link Tokenizers#detect}.
 */
final class TokenizerImport {
  private static final String TOKENIZER_BIN = "tokenizer.bin";

  private TokenizerImport() {}

  /**
   * @param override the user's {@code --tokenizer FILE}, or null
   */
  static PackageTokenizer resolve(CheckpointImporter.Weights weights, Path source, Path override) {
    ModelConfig config = weights.ir().config();
    Map<String, Path> files = switch (weights.kind()) {
      case LLAMA2C -> Map.of(TOKENIZER_BIN, override != null ? override : llama2cSibling(source, config.vocabSize()));
      case HUGGING_FACE -> override != null ? canonicalFiles(override) : null;
    };
    Path staged = null;
    try {
      Path dir;
      if (files == null) {
        dir = source;
      } else {
        staged = Files.createTempDirectory("edgelm-tokenizer");
        dir = staged;
        for (Map.Entry<String, Path> f : files.entrySet()) {
          requireFile(f.getValue());
          Files.createSymbolicLink(staged.resolve(f.getKey()), f.getValue().toAbsolutePath());
        }
        for (String side : List.of("config.json", "tokenizer_config.json")) {
          if (Files.isDirectory(source) && Files.isRegularFile(source.resolve(side))) {
            Files.createSymbolicLink(staged.resolve(side), source.resolve(side).toAbsolutePath());
          }
        }
      }
      TokenizerSpec spec = Tokenizers.detect(dir, config.family().id());
      Tokenizer tokenizer = Tokenizers.load(dir, spec);
      if (tokenizer.vocabSize() > config.vocabSize()) {
        throw new CheckpointException("the tokenizer has " + tokenizer.vocabSize() + " tokens but the model's vocabulary has only "
            + config.vocabSize() + "; pass the tokenizer that belongs to this model with --tokenizer");
      }
      Map<String, Path> sources = new LinkedHashMap<>();
      for (String name : spec.getFilesList()) {
        sources.put(name, files == null ? source.resolve(name) : files.get(name));
      }
      return new PackageTokenizer(spec, sources);
    } catch (EngineException e) {
      throw new CheckpointException(e.getMessage(), e);
    } catch (IOException e) {
      throw new CheckpointException("cannot read the tokenizer: " + e.getMessage(), e);
    } finally {
      if (staged != null) {
        PackageWriter.deleteRecursively(staged);
      }
    }
  }

  /** The package names for a user-given tokenizer file. */
  private static Map<String, Path> canonicalFiles(Path file) {
    String name = file.getFileName().toString();
    if (name.equals("vocab.json") || name.equals("merges.txt")) {
      Path dir = file.toAbsolutePath().getParent();
      return Map.of("vocab.json", dir.resolve("vocab.json"), "merges.txt", dir.resolve("merges.txt"));
    }
    if (name.endsWith(".json")) {
      return Map.of("tokenizer.json", file);
    }
    if (name.endsWith(".bin")) {
      return Map.of(TOKENIZER_BIN, file);
    }
    throw new CheckpointException("--tokenizer " + file + " is not a tokenizer edgelm reads; give a tokenizer.json, "
        + "a vocab.json (with merges.txt beside it) or a llama2.c tokenizer.bin");
  }

  /** llama2.c keeps the vocabulary apart: look beside the checkpoint for tokenizer.bin or tok{vocab}.bin. */
  private static Path llama2cSibling(Path checkpoint, int vocab) {
    Path dir = checkpoint.toAbsolutePath().getParent();
    for (String candidate : List.of(TOKENIZER_BIN, "tok" + vocab + ".bin")) {
      if (Files.isRegularFile(dir.resolve(candidate))) {
        return dir.resolve(candidate);
      }
    }
    throw new CheckpointException("llama2.c checkpoint " + checkpoint + " carries no vocabulary and there is no tokenizer.bin or tok"
        + vocab + ".bin beside it; pass --tokenizer path/to/tokenizer.bin");
  }

  private static void requireFile(Path file) {
    if (!Files.isRegularFile(file)) {
      throw new CheckpointException("tokenizer file " + file + " does not exist; check --tokenizer");
    }
  }
}
