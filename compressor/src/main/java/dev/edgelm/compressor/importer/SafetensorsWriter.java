package dev.edgelm.compressor.importer;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.edgelm.compressor.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/** Writes tensors as a {@code .safetensors} file in F32, F16 or BF16. */
public final class SafetensorsWriter {
  /** Storage types the writer produces. */
  public enum Dtype {
    F32(4),
    F16(2),
    BF16(2);

    final int width;

    Dtype(int width) {
      this.width = width;
    }
  }

  private SafetensorsWriter() {}

  /** Writes {@code tensors} in iteration order. The file must not exist. */
  public static void write(Path file, Map<String, Tensor> tensors, Dtype dtype, Map<String, String> metadata) throws IOException {
    ObjectMapper json = new ObjectMapper();
    ObjectNode header = json.createObjectNode();
    if (!metadata.isEmpty()) {
      ObjectNode meta = header.putObject("__metadata__");
      metadata.forEach(meta::put);
    }
    long offset = 0;
    for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
      ObjectNode entry = header.putObject(e.getKey());
      entry.put("dtype", dtype.name());
      ArrayNode shape = entry.putArray("shape");
      for (int d : e.getValue().shape()) {
        shape.add(d);
      }
      long bytes = (long) e.getValue().size() * dtype.width;
      entry.putArray("data_offsets").add(offset).add(offset + bytes);
      offset += bytes;
    }
    byte[] headerBytes = json.writeValueAsString(header).getBytes(StandardCharsets.UTF_8);
    int padded = (headerBytes.length + 7) / 8 * 8;
    ByteBuffer head = ByteBuffer.allocate(8 + padded).order(ByteOrder.LITTLE_ENDIAN);
    head.putLong(padded).put(headerBytes);
    while (head.hasRemaining()) {
      head.put((byte) ' ');
    }
    head.flip();
    try (FileChannel out = FileChannel.open(file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
      writeAll(out, head);
      ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
      for (Tensor t : tensors.values()) {
        float[] data = t.data();
        for (float v : data) {
          if (chunk.remaining() < 4) {
            chunk.flip();
            writeAll(out, chunk);
            chunk.clear();
          }
          switch (dtype) {
            case F32 -> chunk.putFloat(v);
            case F16 -> chunk.putShort(Half.floatToFp16(v));
            case BF16 -> chunk.putShort(Half.floatToBf16(v));
          }
        }
      }
      chunk.flip();
      writeAll(out, chunk);
    }
  }

  private static void writeAll(FileChannel out, ByteBuffer b) throws IOException {
    while (b.hasRemaining()) {
      out.write(b);
    }
  }
}
