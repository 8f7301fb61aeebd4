package dev.edgelm.engine;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.engine.tokenizer.Tokenizers;
import dev.edgelm.proto.FileDigests;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

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
 * <p>This is the one place packages are opened, and so the one place their bytes are checked:
 * {@link #open(Path)} reads the small JSON files, checks that every file {@code variant.json} lists
 * exists with its recorded size, and hashes each one against its recorded sha256 before anything
 * reads it (weights, graph, tokenizer), so a flipped byte is refused rather than served. Hashes are
 * remembered per process ({@link FileDigests}): opening the same unchanged package again costs a
 * few {@code stat} calls. {@link #describe(Path)} reads only the descriptor (for callers that look
 * but never load); {@link #verify(Path)} reports every damaged file instead of the first. Opening
 * does not load the graph. Instances are immutable and thread-safe.
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
   * Opens the package in {@code dir}, verifying every file {@code variant.json} lists against its
   * size and sha256 (hashing each file at most once per process while it is unchanged).
   *
   * @throws CorruptPackageException when a listed file's bytes do not match its recorded digest
   * @throws ModelPackageException naming the directory and the file when the directory or
   *     {@code model.onnx} is missing, {@code variant.json} is malformed or of a newer schema, a file
   *     it lists is missing or of another size, or (without {@code variant.json}) {@code config.json}
   *     is missing or describes an architecture the engine does not know
   */
  public static ModelPackage open(Path dir) {
    return open(dir, FileDigests.shared());
  }

  static ModelPackage open(Path dir, FileDigests digests) {
    ModelPackage pkg = openUnverified(dir);
    if (!pkg.inferred) {
      List<FileProblem> problems = check(pkg.dir, pkg.descriptor, digests, true);
      if (!problems.isEmpty()) {
        throw problems.get(0).toException(pkg.dir);
      }
    }
    return pkg;
  }

  /**
   * The descriptor of the package in {@code dir}, with the listed files' presence and sizes
   * checked but not their digests: for callers that only look at a package (configuration
   * checks, size estimates). Anything that reads weights or tokenizer files uses {@link #open}.
   *
   * @throws ModelPackageException as {@link #open} does, except for digest mismatches
   */
  public static VariantDescriptor describe(Path dir) {
    ModelPackage pkg = openUnverified(dir);
    if (!pkg.inferred) {
      List<FileProblem> problems = check(pkg.dir, pkg.descriptor, null, true);
      if (!problems.isEmpty()) {
        throw problems.get(0).toException(pkg.dir);
      }
    }
    return pkg.descriptor;
  }

  /**
   * Checks every file the package's {@code variant.json} lists (presence, size, sha256), always
   * hashing afresh, and reports each damaged file rather than stopping at the first.
   *
   * @throws ModelPackageException when {@code dir} cannot be opened as a package at all (no
   *     directory, no {@code model.onnx}, a malformed {@code variant.json})
   */
  public static Verification verify(Path dir) {
    ModelPackage pkg = openUnverified(dir);
    if (pkg.inferred) {
      return new Verification(pkg.dir, true, 0, 0, List.of());
    }
    List<FileProblem> problems = check(pkg.dir, pkg.descriptor, new FileDigests(FileDigests::hash), false);
    long bytes = pkg.descriptor.getFilesList().stream().mapToLong(PackageFile::getSize).sum();
    return new Verification(pkg.dir, false, pkg.descriptor.getFilesCount(), bytes, List.copyOf(problems));
  }

  /**
   * What {@link #verify} found.
   *
   * @param descriptorInferred the package has no {@code variant.json}, so no digests to check against
   * @param filesChecked files {@code variant.json} lists
   * @param bytesChecked their total size
   * @param problems one per damaged file, in {@code variant.json} order; empty when all is well
   */
  public record Verification(Path dir, boolean descriptorInferred, int filesChecked, long bytesChecked, List<FileProblem> problems) {
    public boolean ok() {
      return !descriptorInferred && problems.isEmpty();
    }
  }

  /** One damaged or missing file of a package: which, and what is wrong with it (no path in {@code problem}). */
  public record FileProblem(Path file, boolean digestMismatch, String problem) {
    ModelPackageException toException(Path dir) {
      String what = "model package " + dir + ": " + dir.relativize(file) + " " + problem;
      return digestMismatch
          ? new CorruptPackageException(file, what + "; the file is corrupt: import or pull the package again ('edgelm verify "
              + dir + "' checks every file)")
          : new ModelPackageException(what);
    }
  }

  private static ModelPackage openUnverified(Path dir) {
    Path abs = dir.toAbsolutePath().normalize();
    if (!Files.isDirectory(abs)) {
      throw new ModelPackageException("model package " + abs + " is not a directory");
    }
    if (!Files.isRegularFile(abs.resolve(MODEL_FILE))) {
      throw new ModelPackageException("model package " + abs + " has no " + MODEL_FILE);
    }
    Path descriptorFile = abs.resolve(DESCRIPTOR_FILE);
    if (Files.isRegularFile(descriptorFile)) {
      return new ModelPackage(abs, readDescriptor(descriptorFile), false);
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

  /**
   * Problems with the files {@code descriptor} lists; digests are checked only with {@code digests}
   * non-null. With {@code firstOnly}, stops at the first problem.
   */
  private static List<FileProblem> check(Path dir, VariantDescriptor descriptor, FileDigests digests, boolean firstOnly) {
    List<FileProblem> problems = new ArrayList<>();
    for (PackageFile f : descriptor.getFilesList()) {
      Path file = dir.resolve(f.getPath()).normalize();
      if (!file.startsWith(dir)) {
        throw new ModelPackageException(dir.resolve(DESCRIPTOR_FILE) + " lists a file outside the package: " + f.getPath());
      }
      FileProblem p = checkFile(file, f, digests);
      if (p != null) {
        problems.add(p);
        if (firstOnly) {
          break;
        }
      }
    }
    return problems;
  }

  private static FileProblem checkFile(Path file, PackageFile f, FileDigests digests) {
    if (!Files.isRegularFile(file)) {
      return new FileProblem(file, false, "is missing (listed in " + DESCRIPTOR_FILE + "); the package is incomplete");
    }
    long size = fileSize(file);
    if (f.getSize() > 0 && size != f.getSize()) {
      return new FileProblem(file, false, "has " + size + " bytes but " + DESCRIPTOR_FILE + " says " + f.getSize()
          + "; the package is incomplete or corrupt");
    }
    if (digests == null || f.getDigest().isEmpty()) {
      return null;
    }
    String actual;
    try {
      actual = digests.sha256(file);
    } catch (IOException e) {
      throw new ModelPackageException("cannot read " + file + ": " + e.getMessage(), e);
    }
    if (!actual.equals(f.getDigest())) {
      return new FileProblem(file, true, "does not match the sha256 digest in " + DESCRIPTOR_FILE + " (recorded "
          + abbreviate(f.getDigest()) + ", found " + abbreviate(actual) + ")");
    }
    return null;
  }

  private static String abbreviate(String digest) {
    return digest.length() > 19 ? digest.substring(0, 19) + "..." : digest;
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
