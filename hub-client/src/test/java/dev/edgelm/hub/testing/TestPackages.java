package dev.edgelm.hub.testing;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.hub.Digest;
import dev.edgelm.proto.v1.Architecture;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.Quality;
import dev.edgelm.proto.v1.Requirements;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;

/**
 * Writes small synthetic model packages: random bytes for the model and weights, a fixed tokenizer
 * file, and a valid {@code variant.json} listing them. The hub cares only about the descriptor, so
 * these stand in for real packages in tests that move bytes.
 */
public final class TestPackages {
  private TestPackages() {}

  /** A fixed tokenizer shared by every variant (so releases have a blob in common). */
  public static final byte[] TOKENIZER = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0,\"b\":1}}}".getBytes(StandardCharsets.UTF_8);

  /**
   * Writes a package for variant {@code id} of {@code model} into {@code dir}: {@code model.onnx}
   * ({@code weightBytes/16 + 1024} bytes), {@code model.onnx.data} ({@code weightBytes}),
   * {@code tokenizer.json}. Content is a function of {@code seed}.
   */
  public static Path write(Path dir, String model, String id, String method, int weightBytes, long seed) {
    Random r = new Random(seed);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("model.onnx", bytes(r, weightBytes / 16 + 1024));
    files.put("model.onnx.data", bytes(r, weightBytes));
    files.put("tokenizer.json", TOKENIZER);
    return write(dir, descriptor(model, id, method, weightBytes), files);
  }

  /** Writes {@code files} and a variant.json built from {@code base} listing them. */
  public static Path write(Path dir, VariantDescriptor base, Map<String, byte[]> files) {
    try {
      Files.createDirectories(dir);
      VariantDescriptor.Builder d = base.toBuilder().clearFiles();
      for (Map.Entry<String, byte[]> f : files.entrySet()) {
        Path p = dir.resolve(f.getKey());
        Files.createDirectories(p.getParent());
        Files.write(p, f.getValue());
        String role = f.getKey().startsWith("tokenizer") ? "tokenizer" : f.getKey().endsWith(".data") ? "weights" : "model";
        d.addFiles(PackageFile.newBuilder().setPath(f.getKey()).setDigest(Digest.of(f.getValue()).toString())
            .setSize(f.getValue().length).setRole(role));
      }
      Files.writeString(dir.resolve("variant.json"), JsonFormat.printer().print(d.build()) + "\n");
      return dir;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  public static VariantDescriptor descriptor(String model, String id, String method, long weightBytes) {
    return VariantDescriptor.newBuilder()
        .setSchemaVersion(1)
        .setId(id)
        .setModel(model)
        .setArchitecture(Architecture.newBuilder().setFamily("llama").setVocabSize(512).setHiddenSize(64)
            .setNumLayers(5).setNumHeads(8).setNumKvHeads(4).setHeadDim(8).setContextLength(512))
        .setMethod(Method.newBuilder().setName(method).putParams("group_size", "32"))
        .setParameterCount(weightBytes / 4)
        .setWeightBytes(weightBytes)
        .setKvCacheBytesPerToken(5 * 2 * 4 * 8 * 4)
        .setRequirements(Requirements.newBuilder().addOnnxOps("ai.onnx:MatMul").addOnnxOps("com.microsoft:MatMulNBits")
            .addCpuFeatures("avx2").setOpset(17))
        .setQuality(Quality.newBuilder().setPerplexityRatio(1.0 + weightBytes % 7 / 100.0))
        .setBaseModelDigest("sha256:" + "0".repeat(64))
        .setToolVersion("test")
        .build();
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }

  /** Whether two directories hold the same files with the same bytes. */
  public static boolean sameFiles(Path a, Path b) throws IOException {
    try (var sa = Files.walk(a); var sb = Files.walk(b)) {
      var la = sa.filter(Files::isRegularFile).map(a::relativize).map(Path::toString).sorted().toList();
      var lb = sb.filter(Files::isRegularFile).map(b::relativize).map(Path::toString).sorted().toList();
      if (!la.equals(lb)) {
        return false;
      }
      for (String f : la) {
        if (!Arrays.equals(Files.readAllBytes(a.resolve(f)), Files.readAllBytes(b.resolve(f)))) {
          return false;
        }
      }
      return true;
    }
  }
}
