package dev.edgelm.engine;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.engine.tokenizer.Tokenizers;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A model package on disk: one variant's directory with {@code model.onnx} (and
 * {@code model.onnx.data} when its weights are external), tokenizer files, and {@code variant.json}.
 *
 * <p>Directories written by other tools (an Optimum or PyTorch export next to a Hugging Face
 * {@code config.json}) have no {@code variant.json}; {@link #open(Path)} then infers the descriptor
 * from {@code config.json} and reports {@link #descriptorInferred()}. An inferred descriptor carries
 * the architecture, file sizes and the tokenizer spec ({@link Tokenizers#detect}), but no digests,
 * quality or speed.
 *
 * <p>Opening reads only the small JSON files and checks that the files the descriptor lists exist
 * with their recorded sizes; it does not hash weights (the hub client verifies digests when it
 * pulls) and does not load the graph. Instances are immutable and thread-safe.
 */
public final class ModelPackage {
  /** Newest {@code schema_version} of {@code variant.json} this engine reads. */
  public static final int SCHEMA_VERSION = 1;

  public static final String MODEL_FILE = "model.onnx";
  public static final String EXTERNAL_WEIGHTS_FILE = "model.onnx.data";
  public static final String DESCRIPTOR_FILE = "variant.json";
  public static final String HF_CONFIG_FILE = "config.json";

  private final Path dir;
  private final VariantDescriptor descriptor;
  private final boolean inferred;

  private ModelPackage(Path dir, VariantDescriptor descriptor, boolean inferred) {
    this.dir = dir;
    this.descriptor = descriptor;
    this.inferred = inferred;
  }

  /**
   * Opens the package in {@code dir}.
   *
   * @throws ModelPackageException naming the directory and the file when the directory or
   *     {@code model.onnx} is missing, {@code variant.json} is malformed or of a newer schema, a file
   *     it lists is missing or of another size, or (without {@code variant.json}) {@code config.json}
   *     is missing or describes an architecture the engine does not know
   */
  public static ModelPackage open(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      throw new ModelPackageException("model package " + abs + " is not a directory");
    }
    if (!Files.isRegularFile(abs.resolve(MODEL_FILE))) {
      throw new ModelPackageException("model package " + abs + " has no " + MODEL_FILE);
    }
    Path descriptorFile = abs.resolve(DESCRIPTOR_FILE);
    if (Files.isRegularFile(descriptorFile)) {
      VariantDescriptor descriptor = readDescriptor(descriptorFile);
      checkListedFiles(abs, descriptor);
      return new ModelPackage(abs, descriptor, false);
    }
    return new ModelPackage(abs, DescriptorInference.infer(abs), true);
  }

  private static VariantDescriptor readDescriptor(Path file) {
    String json;
    try {
      json = Files.readString(file, StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read " + file + ": " + e.getMessage(), e);
    }
    VariantDescriptor.Builder builder = VariantDescriptor.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(json, builder);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new ModelPackageException("malformed " + file + ": " + e.getMessage(), e);
    }
    VariantDescriptor descriptor = builder.build();
    if (descriptor.getSchemaVersion() > SCHEMA_VERSION) {
      throw new ModelPackageException(
          file + " has schema_version " + descriptor.getSchemaVersion() + " but this engine reads up to "
              + SCHEMA_VERSION + "; upgrade edgelm");
    }
    return descriptor;
  }

  private static void checkListedFiles(Path dir, VariantDescriptor descriptor) {
    for (PackageFile f : descriptor.getFilesList()) {
      Path file = dir.resolve(f.getPath()).normalize();
      if (!file.startsWith(dir)) {
        throw new ModelPackageException(dir.resolve(DESCRIPTOR_FILE) + " lists a file outside the package: " + f.getPath());
      }
      if (!Files.isRegularFile(file)) {
        throw new ModelPackageException("model package " + dir + " is missing " + f.getPath() + " (listed in " + DESCRIPTOR_FILE + ")");
      }
      long size = fileSize(file);
      if (f.getSize() > 0 && size != f.getSize()) {
        throw new ModelPackageException(
            file + " has " + size + " bytes but " + DESCRIPTOR_FILE + " says " + f.getSize() + "; the package is incomplete or corrupt");
      }
    }
  }

  static long fileSize(Path file) {
    try {
      return Files.size(file);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  /** The package directory (absolute, normalised). */
  public Path dir() {
    return dir;
  }

  /** {@code model.onnx} in the package. */
  public Path modelFile() {
    return dir.resolve(MODEL_FILE);
  }

  /** The descriptor read from {@code variant.json}, or inferred when the package has none. */
  public VariantDescriptor descriptor() {
    return descriptor;
  }

  /** Whether {@link #descriptor()} was inferred from {@code config.json} rather than read from {@code variant.json}. */
  public boolean descriptorInferred() {
    return inferred;
  }

  /**
   * Loads the tokenizer the descriptor specifies from the package's files. Each call reads the
   * files again: load once and share the (immutable, thread-safe) tokenizer.
   *
   * @throws ModelPackageException when the spec is missing or the files are missing or corrupt
   */
  public Tokenizer loadTokenizer() {
    if (descriptor.getTokenizer().getKind().isEmpty()) {
      throw new ModelPackageException(dir.resolve(DESCRIPTOR_FILE) + " has no tokenizer spec; re-import the model");
    }
    return Tokenizers.load(dir, descriptor.getTokenizer());
  }

  /**
   * Bytes of weights the package holds: the descriptor's {@code weight_bytes} when set, else the
   * sizes of {@code model.onnx} and {@code model.onnx.data}.
   */
  public long weightBytes() {
    if (descriptor.getWeightBytes() > 0) {
      return descriptor.getWeightBytes();
    }
    long bytes = fileSize(modelFile());
    Path external = dir.resolve(EXTERNAL_WEIGHTS_FILE);
    if (Files.isRegularFile(external)) {
      bytes += fileSize(external);
    }
    return bytes;
  }

  @Override
  public String toString() {
    return "ModelPackage[" + dir + (inferred ? ", inferred" : ", " + descriptor.getId()) + "]";
  }
}
