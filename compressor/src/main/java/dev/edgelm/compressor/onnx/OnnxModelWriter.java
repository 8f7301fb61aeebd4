package dev.edgelm.compressor.onnx;

import com.google.protobuf.ByteString;
import dev.edgelm.proto.onnx.GraphProto;
import dev.edgelm.proto.onnx.ModelProto;
import dev.edgelm.proto.onnx.OperatorSetIdProto;
import dev.edgelm.proto.onnx.StringStringEntryProto;
import dev.edgelm.proto.onnx.TensorProto;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a {@link GraphBuilder} as a standard ONNX model file, with large initializers in an
 * external data file beside it (ONNX's external-data convention: {@code location}, {@code offset},
 * {@code length}, offsets aligned to 4 KiB so a runtime may map them).
 *
 * <p>The output is deterministic: the same graph gives byte-identical files, which keeps
 * content-addressed storage effective.
 */
public final class OnnxModelWriter {
  /** Default-domain opset the emitters target. */
  public static final int OPSET = 17;
  /** IR version that goes with opset 17. */
  public static final int IR_VERSION = 8;
  /** Name of the external data file beside {@code model.onnx}. */
  public static final String DATA_FILE = "model.onnx.data";

  private static final int ALIGNMENT = 4096;

  /**
   * @param externalThresholdBytes when all initializers together exceed this many bytes, every
   *     initializer of 1 KiB or more goes to the external data file
   */
  public record Options(long externalThresholdBytes, String producerVersion, Map<String, String> metadata) {
    public static final long DEFAULT_EXTERNAL_THRESHOLD = 8L << 20;

    public static Options defaults(String producerVersion) {
      return new Options(DEFAULT_EXTERNAL_THRESHOLD, producerVersion, Map.of());
    }
  }

  /** What was written: the files (model first) and the bytes of all initializers. */
  public record Written(List<Path> files, long initializerBytes) {}

  private OnnxModelWriter() {}

  public static Written write(GraphBuilder graph, Path modelFile, Options options) throws IOException {
    boolean external = graph.initializerBytes() > options.externalThresholdBytes();
    Path dataFile = modelFile.resolveSibling(DATA_FILE);
    GraphProto.Builder g = GraphProto.newBuilder()
        .setName(graph.name())
        .addAllNode(graph.nodes())
        .addAllInput(graph.inputs())
        .addAllOutput(graph.outputs());
    List<Path> files = new ArrayList<>();
    files.add(modelFile);
    if (external) {
      try (FileChannel data = FileChannel.open(dataFile,
          StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
        for (GraphBuilder.Initializer init : graph.initializers()) {
          TensorProto.Builder t = tensorHeader(init);
          long size = init.payload().byteSize();
          if (size >= 1024) {
            long offset = align(data.position());
            if (offset > data.position()) {
              data.write(ByteBuffer.allocate((int) (offset - data.position())));
            }
            init.payload().writeTo(data);
            t.setDataLocation(TensorProto.DataLocation.EXTERNAL)
                .addExternalData(entry("location", DATA_FILE))
                .addExternalData(entry("offset", Long.toString(offset)))
                .addExternalData(entry("length", Long.toString(size)));
          } else {
            t.setRawData(ByteString.copyFrom(init.payload().toBytes()));
          }
          g.addInitializer(t);
        }
      }
      files.add(dataFile);
    } else {
      for (GraphBuilder.Initializer init : graph.initializers()) {
        g.addInitializer(tensorHeader(init).setRawData(ByteString.copyFrom(init.payload().toBytes())));
      }
    }
    ModelProto.Builder model = ModelProto.newBuilder()
        .setIrVersion(IR_VERSION)
        .setProducerName("edgelm")
        .setProducerVersion(options.producerVersion())
        .setGraph(g)
        .addOpsetImport(OperatorSetIdProto.newBuilder().setDomain("").setVersion(OPSET));
    if (graph.usesDomain(GraphBuilder.MICROSOFT)) {
      model.addOpsetImport(OperatorSetIdProto.newBuilder().setDomain(GraphBuilder.MICROSOFT).setVersion(1));
    }
    options.metadata().entrySet().stream()
        .sorted(Map.Entry.comparingByKey())
        .forEach(e -> model.addMetadataProps(entry(e.getKey(), e.getValue())));
    try (OutputStream out = Files.newOutputStream(modelFile, StandardOpenOption.CREATE_NEW)) {
      model.build().writeTo(out);
    }
    return new Written(List.copyOf(files), graph.initializerBytes());
  }

  private static TensorProto.Builder tensorHeader(GraphBuilder.Initializer init) {
    TensorProto.Builder t = TensorProto.newBuilder().setName(init.name()).setDataType(init.type().code());
    for (long d : init.dims()) {
      t.addDims(d);
    }
    return t;
  }

  private static StringStringEntryProto entry(String key, String value) {
    return StringStringEntryProto.newBuilder().setKey(key).setValue(value).build();
  }

  private static long align(long position) {
    return (position + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
  }
}
