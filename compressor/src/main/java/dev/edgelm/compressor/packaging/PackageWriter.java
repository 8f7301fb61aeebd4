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
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * <p>All-or-nothing: the package is assembled in a hidden sibling directory ({@link
 * StagingDirectory}) and renamed into place only when complete, so a failure (bad input, full disk,
 * a signal, a crash) never leaves a half-written package at the destination. Only a directory that
 * is a package is ever replaced, and never one of the package's own inputs ({@link Target#check}).
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
   * @param chain the compression steps that made it, in order (empty for fp32)
   */
  public record Variant(String id, String model, Method method, String baseModelDigest, List<String> preferredCpuFeatures,
      List<Step> chain) {
    public Variant {
      preferredCpuFeatures = List.copyOf(preferredCpuFeatures);
      chain = List.copyOf(chain);
    }

    /** A variant made without a recorded chain. */
    public Variant(String id, String model, Method method, String baseModelDigest, List<String> preferredCpuFeatures) {
      this(id, model, method, baseModelDigest, preferredCpuFeatures, List.of());
    }

    /** A variant that no CPU feature speeds up in particular. */
    public Variant(String id, String model, Method method, String baseModelDigest) {
      this(id, model, method, baseModelDigest, List.of());
    }
  }

  private PackageWriter() {}

  /**
   * Where a package goes, and what it must not touch.
   *
   * @param out the package directory to create
   * @param replace replace an existing package at {@code out} ({@code --force}); only a directory
   *     whose {@code variant.json} parses is ever replaced, anything else is refused
   * @param inputs the files and directories the package is made from (checkpoint, tokenizer, base
   *     package, calibration text); {@code out} may not be, contain or lie inside any of them
   */
  public record Target(Path out, boolean replace, List<Path> inputs) {
    public Target {
      out = out.toAbsolutePath().normalize();
      inputs = inputs.stream().filter(java.util.Objects::nonNull).toList();
    }

    /**
     * Refuses, with a one-line {@link UsageException}, an output that would destroy an input or a
     * directory that is not a package. Commands call it before their long work; {@link #write}
     * calls it again.
     */
    public Target check() {
      OutputPaths.requireApartFromInputs(out, inputs);
      if (Files.exists(out)) {
        if (!Files.isDirectory(out)) {
          throw new UsageException("output " + out + " exists and is not a directory; choose another --out");
        }
        if (!isEmptyDir(out)) {
          if (!replace) {
            throw new UsageException("output " + out + " already exists and is not empty; choose another --out, "
                + "or pass --force to replace the package there");
          }
          if (!isPackage(out)) {
            throw new UsageException("output " + out + " is not an edgelm package (no readable " + DESCRIPTOR
                + "), so --force will not replace it; choose another --out");
          }
        }
      }
      return this;
    }
  }

  /**
   * Writes {@code ir} as a package at {@code target.out()}, all or nothing (see
   * {@link StagingDirectory}).
   *
   * @return the descriptor written to {@code variant.json}
   * @throws UsageException when {@link Target#check} refuses the target
   * @throws OutputException when writing fails
   */
  public static VariantDescriptor write(ModelIr ir, PackageTokenizer tokenizer, Variant variant, Target target) {
    return write(ir, tokenizer, variant, target, DecoderEmitter.Attention.preferredFor(ir.config()));
  }

  /**
   * {@link #write(ModelIr, PackageTokenizer, Variant, Target)} with the graph's attention chosen. By
   * default packages get {@link DecoderEmitter.Attention#GQA_SHARED_KV} (an in-place KV cache) where
   * the shape allows ({@link DecoderEmitter.Attention#preferredFor}); {@link DecoderEmitter.Attention#PORTABLE}
   * is the fallback. The descriptor's {@code graph.kv_cache} says which a package has.
   */
  public static VariantDescriptor write(ModelIr ir, PackageTokenizer tokenizer, Variant variant, Target target,
      DecoderEmitter.Attention attention) {
    target.check();
    try (StagingDirectory staging = StagingDirectory.create(target.out())) {
      VariantDescriptor descriptor = writeInto(staging.dir(), ir, tokenizer, variant, attention);
      target.check(); // the destination may have changed while the package was written
      staging.commit(target.replace());
      return descriptor;
    } catch (IOException e) {
      throw new OutputException("could not write package " + target.out() + ": " + describe(e), e);
    }
  }

  /**
   * {@link #write(ModelIr, PackageTokenizer, Variant, Target)} for a model with no input on disk to
   * protect (tests, models built in memory); commands pass a {@link Target} naming their inputs.
   */
  public static VariantDescriptor write(ModelIr ir, PackageTokenizer tokenizer, Variant variant, Path out, boolean replace) {
    return write(ir, tokenizer, variant, new Target(out, replace, List.of()));
  }

  /** Whether {@code dir} holds an edgelm package: its {@code variant.json} parses as a descriptor. */
  public static boolean isPackage(Path dir) {
    Path f = dir.resolve(DESCRIPTOR);
    if (!Files.isRegularFile(f)) {
      return false;
    }
    try {
      VariantDescriptor.Builder b = VariantDescriptor.newBuilder();
      JsonFormat.parser().ignoringUnknownFields().merge(Files.readString(f, StandardCharsets.UTF_8), b);
      return !b.getId().isEmpty() || b.getFilesCount() > 0;
    } catch (IOException | RuntimeException e) {
      return false;
    }
  }

  private static VariantDescriptor writeInto(Path dir, ModelIr ir, PackageTokenizer tokenizer, Variant variant,
      DecoderEmitter.Attention attention) throws IOException {
    DecoderEmitter.Emitted emitted = DecoderEmitter.emit(ir, attention);
    OnnxModelWriter.Written written = OnnxModelWriter.write(emitted.graph(), dir.resolve(MODEL),
        OnnxModelWriter.Options.defaults(EdgelmVersion.CURRENT));

    VariantDescriptor.Builder d = VariantDescriptor.newBuilder()
        .setSchemaVersion(SCHEMA_VERSION)
        .setId(variant.id())
        .setModel(variant.model())
        .setArchitecture(ir.architecture())
        .setMethod(variant.method())
        .addAllChain(variant.chain())
        .setParameterCount(ir.parameterCount())
        .setWeightBytes(written.initializerBytes())
        .setKvCacheBytesPerToken(ir.kvCacheBytesPerToken())
        .setTokenizer(tokenizer.spec())
        .setRequirements(Requirements.newBuilder()
            .addAllOnnxOps(emitted.graph().opsUsed())
            .addAllPreferredCpuFeatures(variant.preferredCpuFeatures())
            .setOpset(OnnxModelWriter.OPSET))
        .setBaseModelDigest(variant.baseModelDigest())
        .setToolVersion(EdgelmVersion.CURRENT)
        .setGraph(GraphIo.newBuilder().setPositionIds(true).setLogits("selectable").setKvDtype("float32")
            .setKvCache(attention == DecoderEmitter.Attention.GQA_SHARED_KV ? "shared_buffer" : "concat")
            .setRaggedBatch(attention.raggedBatch()));

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

  private static boolean isEmptyDir(Path dir) {
    try (Stream<Path> s = Files.list(dir)) {
      return s.findAny().isEmpty();
    } catch (IOException e) {
      throw new OutputException("cannot read output directory " + dir + ": " + e.getMessage(), e);
    }
  }

  /** Deletes a directory tree this program made, best effort (used to clean up after failures). */
  public static void deleteRecursively(Path root) {
    StagingDirectory.deleteRecursively(root);
  }

  private static String describe(IOException e) {
    String m = e.getMessage();
    if (m != null && m.contains("No space left")) {
      return "no space left on the device; free some space or choose another --out";
    }
    return e.getClass().getSimpleName() + (m == null ? "" : ": " + m);
  }
}
