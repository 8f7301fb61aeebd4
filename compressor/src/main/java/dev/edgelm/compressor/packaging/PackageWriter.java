package dev.edgelm.compressor.packaging;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.edgelm.compressor.OutputException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.Digests;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.onnx.DecoderEmitter;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import dev.edgelm.proto.EdgelmVersion;
import dev.edgelm.proto.v1.GraphIo;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.Requirements;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;

/**
 * Writes a model package directory: {@code model.onnx} (+ {@code model.onnx.data}), the tokenizer
 * files, and {@code variant.json}.
 *
 * <p>All-or-nothing: the package is assembled in a hidden sibling directory and renamed into place
 * only when complete, so a failure (bad input, full disk, a crash) never leaves a half-written
 * package at the destination.
 */
public final class PackageWriter {
  /** Version of the descriptor format this writer produces. */
  public static final int SCHEMA_VERSION = 1;
  public static final String DESCRIPTOR = "variant.json";
  public static final String MODEL = "model.onnx";

  /**
   * What the package is.
   *
   * @param id variant id within a release, e.g. {@code fp32}
   * @param model the model's name
   * @param baseModelDigest digest of the checkpoint the variant was made from
   * @param preferredCpuFeatures CPU features that make the variant faster (the descriptor's
   *     {@code requirements.preferred_cpu_features})
   */
  public record Variant(String id, String model, Method method, String baseModelDigest, List<String> preferredCpuFeatures) {
    public Variant {
      preferredCpuFeatures = List.copyOf(preferredCpuFeatures);
    }

    /** A variant that no CPU feature speeds up in particular. */
    public Variant(String id, String model, Method method, String baseModelDigest) {
      this(id, model, method, baseModelDigest, List.of());
    }
  }

  private PackageWriter() {}

  /**
   * Writes {@code ir} as a package at {@code out}.
   *
   * @param replace replace an existing package at {@code out} (otherwise an existing non-empty
   *     directory is an error)
   * @return the descriptor written to {@code variant.json}
   */
  public static VariantDescriptor write(ModelIr ir, PackageTokenizer tokenizer, Variant variant, Path out, boolean replace) {
    Path target = out.toAbsolutePath().normalize();
    checkTarget(target, replace);
    Path staging = target.resolveSibling("." + target.getFileName() + ".partial-" + UUID.randomUUID());
    try {
      Files.createDirectories(staging);
      VariantDescriptor descriptor = writeInto(staging, ir, tokenizer, variant);
      moveIntoPlace(staging, target, replace);
      return descriptor;
    } catch (IOException e) {
      deleteRecursively(staging);
      throw new OutputException("could not write package " + target + ": " + describe(e), e);
    } catch (RuntimeException | Error e) {
      deleteRecursively(staging);
      throw e;
    }
  }

  private static void checkTarget(Path target, boolean replace) {
    if (Files.exists(target)) {
      if (!Files.isDirectory(target)) {
        throw new UsageException("output " + target + " exists and is not a directory; choose another --out");
      }
      if (!replace && !isEmptyDir(target)) {
        throw new UsageException("output " + target + " already exists and is not empty; choose another --out or pass --force");
      }
    }
  }

  private static VariantDescriptor writeInto(Path dir, ModelIr ir, PackageTokenizer tokenizer, Variant variant) throws IOException {
    DecoderEmitter.Emitted emitted = DecoderEmitter.emit(ir);
    OnnxModelWriter.Written written = OnnxModelWriter.write(emitted.graph(), dir.resolve(MODEL),
        OnnxModelWriter.Options.defaults(EdgelmVersion.CURRENT));

    VariantDescriptor.Builder d = VariantDescriptor.newBuilder()
        .setSchemaVersion(SCHEMA_VERSION)
        .setId(variant.id())
        .setModel(variant.model())
        .setArchitecture(ir.config().toProto())
        .setMethod(variant.method())
        .setParameterCount(ir.parameterCount())
        .setWeightBytes(written.initializerBytes())
        .setKvCacheBytesPerToken(ir.config().kvCacheBytesPerToken())
        .setTokenizer(tokenizer.spec())
        .setRequirements(Requirements.newBuilder()
            .addAllOnnxOps(emitted.graph().opsUsed())
            .addAllPreferredCpuFeatures(variant.preferredCpuFeatures())
            .setOpset(OnnxModelWriter.OPSET))
        .setBaseModelDigest(variant.baseModelDigest())
        .setToolVersion(EdgelmVersion.CURRENT)
        .setGraph(GraphIo.newBuilder().setPositionIds(true).setLogits("all").setKvDtype("float32"));

    Map<String, String> roles = new TreeMap<>();
    for (Path f : written.files()) {
      roles.put(f.getFileName().toString(), f.getFileName().toString().equals(MODEL) ? "model" : "weights");
    }
    for (Map.Entry<String, Path> t : new TreeMap<>(tokenizer.files()).entrySet()) {
      Path dest = dir.resolve(t.getKey());
      Files.createDirectories(dest.getParent());
      Files.copy(t.getValue(), dest);
      roles.put(t.getKey(), "tokenizer");
    }
    for (Map.Entry<String, String> e : roles.entrySet()) {
      Path f = dir.resolve(e.getKey());
      d.addFiles(PackageFile.newBuilder()
          .setPath(e.getKey())
          .setDigest(Digests.sha256(f))
          .setSize(Files.size(f))
          .setRole(e.getValue()));
    }
    VariantDescriptor descriptor = d.build();
    Files.writeString(dir.resolve(DESCRIPTOR), toJson(descriptor), StandardCharsets.UTF_8);
    return descriptor;
  }

  /**
   * Replaces the {@code variant.json} of the package at {@code dir} with {@code descriptor},
   * atomically (a reader sees the old or the new file, never a mix). Only the descriptor changes:
   * the files it lists, and so their digests, are untouched.
   *
   * @throws OutputException when the file cannot be written
   */
  public static void rewriteDescriptor(Path dir, VariantDescriptor descriptor) {
    Path target = dir.resolve(DESCRIPTOR);
    Path temp = dir.resolve("." + DESCRIPTOR + ".partial-" + UUID.randomUUID());
    try {
      Files.writeString(temp, toJson(descriptor), StandardCharsets.UTF_8);
      Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      try {
        Files.deleteIfExists(temp);
      } catch (IOException ignored) {
        // Best effort: the caller is already reporting a failure.
      }
      throw new OutputException("could not rewrite " + target + ": " + describe(e), e);
    }
  }

  /** The descriptor as written to {@code variant.json}. */
  public static String toJson(VariantDescriptor descriptor) {
    try {
      return JsonFormat.printer().print(descriptor) + "\n";
    } catch (InvalidProtocolBufferException e) {
      throw new IllegalStateException(e);
    }
  }

  private static void moveIntoPlace(Path staging, Path target, boolean replace) throws IOException {
    Path old = null;
    if (Files.exists(target)) {
      if (!replace && !isEmptyDir(target)) {
        throw new FileAlreadyExistsException(target.toString(), null, "appeared while the package was written");
      }
      old = target.resolveSibling("." + target.getFileName() + ".old-" + UUID.randomUUID());
      Files.move(target, old, StandardCopyOption.ATOMIC_MOVE);
    }
    try {
      Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      if (old != null) {
        Files.move(old, target, StandardCopyOption.ATOMIC_MOVE);
      }
      throw e;
    }
    if (old != null) {
      deleteRecursively(old);
    }
  }

  private static boolean isEmptyDir(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      throw new OutputException("cannot read output directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Deletes a directory tree, best effort (used to clean up after failures). */
  public static void deleteRecursively(Path root) {
    if (!Files.exists(root)) {
      return;
    }
    try (Stream<Path> walk = Files.walk(root)) {
      walk.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> {
        try {
          Files.deleteIfExists(p);
        } catch (IOException ignored) {
          // Best effort: the caller is already reporting a failure.
        }
      });
    } catch (IOException ignored) {
      // Best effort.
    }
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    if (m != null && m.contains("No space left")) {
      return "no space left on the device; free some space or choose another --out";
    }
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
