package dev.edgelm.compressor.packaging;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.ir.Block;
import dev.edgelm.compressor.ir.DenseEmbedding;
import dev.edgelm.compressor.ir.Family;
import dev.edgelm.compressor.ir.Linear;
import dev.edgelm.compressor.ir.ModelConfig;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.ir.Norm;
import dev.edgelm.compressor.ir.Tensor;
import dev.edgelm.compressor.onnx.DataType;
import dev.edgelm.compressor.onnx.OnnxModelWriter;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.proto.onnx.ModelProto;
import dev.edgelm.proto.onnx.StringStringEntryProto;
import dev.edgelm.proto.onnx.TensorProto;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads an fp32 package written by {@link PackageWriter} back into the model IR, so compression
 * methods start from the package the user imported rather than from a checkpoint that may have
 * moved since.
 *
 * <p>The package's graph is not interpreted: its fp32 initializers are looked up by the names the
 * decoder emitter gives them ({@code tok_embed.weight}, {@code layers.<i>.attn.qkv.weight}, …) and
 * the configuration comes from {@code variant.json}. Re-emitting what this returns gives the same
 * graph byte for byte (a test holds it to that). Weight files are checked against the digests the
 * descriptor records before they are used.
 */
public final class PackageReader {
  /**
   * A package read back.
   *
   * @param ir the model, every weight dense fp32
   * @param tokenizer the package's tokenizer files, to be carried into derived packages
   * @param descriptor the package's {@code variant.json}
   */
  public record BasePackage(Path dir, ModelIr ir, PackageTokenizer tokenizer, VariantDescriptor descriptor) {}

  private PackageReader() {}

  /**
   * Reads the fp32 package at {@code dir}.
   *
   * @throws CheckpointException when the package is missing, incomplete, corrupt, not written by
   *     edgelm, or lacks a weight the configuration implies
   * @throws UsageException when the package holds a compressed variant rather than the fp32 base
   */
  public static BasePackage read(Path dir) {
    ModelPackage pkg;
    try {
      pkg = ModelPackage.open(dir);
    } catch (ModelPackageException e) {
      throw new CheckpointException(e.getMessage(), e);
    }
    Path root = pkg.dir();
    if (pkg.descriptorInferred()) {
      throw new CheckpointException(root + " has no " + PackageWriter.DESCRIPTOR
          + "; compression starts from a package made by 'edgelm import' (import the checkpoint first)");
    }
    VariantDescriptor d = pkg.descriptor();
    if (!d.getMethod().getName().equals("fp32")) {
      throw new UsageException(root + " holds the variant '" + d.getId() + "' (method " + d.getMethod().getName()
          + "); compress the fp32 package made by 'edgelm import' instead");
    }
    ModelConfig config;
    try {
      config = ModelConfig.fromProto(d.getArchitecture());
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(root.resolve(PackageWriter.DESCRIPTOR) + " has an unusable architecture: " + e.getMessage(), e);
    }
    Weights w = new Weights(root);
    try {
      ModelIr ir = build(config, w);
      Map<String, Path> files = new LinkedHashMap<>();
      for (String f : d.getTokenizer().getFilesList()) {
        files.put(f, root.resolve(f));
      }
      return new BasePackage(root, ir, new PackageTokenizer(d.getTokenizer(), files), d);
    } catch (IllegalArgumentException e) {
      throw new CheckpointException(root + " does not match its descriptor: " + e.getMessage(), e);
    }
  }

  private static ModelIr build(ModelConfig c, Weights w) {
    boolean gpt2 = c.family() == Family.GPT2;
    List<Block> blocks = new ArrayList<>();
    for (int i = 0; i < c.numLayers(); i++) {
      String p = "layers." + i + ".";
      blocks.add(new Block(
          w.norm(p + "attn_norm", gpt2),
          w.linear(p + "attn.qkv"),
          w.linear(p + "attn.out"),
          w.norm(p + "mlp_norm", gpt2),
          w.linear(p + "mlp.up"),
          c.family() == Family.LLAMA ? w.linear(p + "mlp.gate") : null,
          w.linear(p + "mlp.down")));
    }
    Linear head = c.tiedEmbeddings() ? null : w.linear(ModelIr.HEAD);
    return new ModelIr(c, new DenseEmbedding(w.tensor(DenseEmbedding.INITIALIZER)),
        gpt2 ? w.tensor("pos_embed.weight") : null, blocks, w.norm("final_norm", gpt2), head);
  }

  /** The package's fp32 initializers by name, read on demand (inline or from the external data file). */
  private static final class Weights {
    private final Path root;
    private final Map<String, TensorProto> byName = new HashMap<>();

    Weights(Path root) {
      this.root = root;
      Path model = root.resolve(PackageWriter.MODEL);
      try (InputStream in = Files.newInputStream(model)) {
        for (TensorProto t : ModelProto.parseFrom(in).getGraph().getInitializerList()) {
          byName.put(t.getName(), t);
        }
      } catch (IOException e) {
        throw new CheckpointException("cannot parse " + model + " as ONNX: " + e.getMessage(), e);
      }
    }

    Tensor tensor(String name) {
      TensorProto t = byName.get(name);
      if (t == null) {
        throw new CheckpointException(root.resolve(PackageWriter.MODEL) + " has no initializer '" + name
            + "'; only packages written by 'edgelm import' can be compressed");
      }
      if (t.getDataType() != DataType.FLOAT.code()) {
        throw new CheckpointException("initializer '" + name + "' in " + root.resolve(PackageWriter.MODEL)
            + " is not fp32 (data type " + t.getDataType() + ")");
      }
      int[] shape = t.getDimsList().stream().mapToInt(Math::toIntExact).toArray();
      long numel = 1;
      for (int s : shape) {
        numel *= s;
      }
      float[] data = new float[Math.toIntExact(numel)];
      if (t.getDataLocation() == TensorProto.DataLocation.EXTERNAL) {
        readExternal(name, t, data);
      } else if (t.getRawData().size() == 4L * numel) {
        t.getRawData().asReadOnlyByteBuffer().order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
      } else if (t.getFloatDataCount() == numel) {
        for (int i = 0; i < data.length; i++) {
          data[i] = t.getFloatData(i);
        }
      } else {
        throw new CheckpointException("initializer '" + name + "' holds " + t.getRawData().size() + " bytes for "
            + numel + " floats; the package is corrupt");
      }
      return Tensor.of(data, shape);
    }

    private void readExternal(String name, TensorProto t, float[] data) {
      Map<String, String> ext = new HashMap<>();
      for (StringStringEntryProto e : t.getExternalDataList()) {
        ext.put(e.getKey(), e.getValue());
      }
      String location = ext.getOrDefault("location", OnnxModelWriter.DATA_FILE);
      Path file = root.resolve(location).normalize();
      if (!file.startsWith(root)) {
        throw new CheckpointException("initializer '" + name + "' points outside the package: " + location);
      }
      long offset = Long.parseLong(ext.getOrDefault("offset", "0"));
      long length = Long.parseLong(ext.getOrDefault("length", Long.toString(4L * data.length)));
      if (length != 4L * data.length) {
        throw new CheckpointException("initializer '" + name + "' has " + length + " external bytes for "
            + data.length + " floats; the package is corrupt");
      }
      try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
        if (offset + length > ch.size()) {
          throw new CheckpointException(file + " is shorter than initializer '" + name + "' needs; the package is incomplete");
        }
        MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, offset, length);
        map.order(ByteOrder.LITTLE_ENDIAN).asFloatBuffer().get(data);
      } catch (IOException e) {
        throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
      }
    }

    Linear linear(String name) {
      Tensor bias = byName.containsKey(name + ".bias") ? tensor(name + ".bias") : null;
      return Linear.dense(tensor(name + ".weight"), bias);
    }

    Norm norm(String name, boolean layerNorm) {
      return new Norm(tensor(name + ".weight"), layerNorm ? tensor(name + ".bias") : null);
    }
  }
}
