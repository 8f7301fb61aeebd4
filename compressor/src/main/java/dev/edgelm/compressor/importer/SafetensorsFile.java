package dev.edgelm.compressor.importer;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.ir.Tensor;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

/**
 * Reads a {@code .safetensors} file: an 8-byte little-endian header length, a JSON header mapping
 * tensor names to dtype, shape and byte range, then the data.
 *
 * <p>The header is validated completely on open, before any data is read: every range must lie in
 * the file, match its shape and dtype exactly, and not overlap another. A truncated file or a
 * header that lies about sizes fails with a {@link CheckpointException} naming the file and the
 * tensor. Tensors are converted to fp32 on read (F32, F16, BF16, F64 are supported).
 */
public final class SafetensorsFile implements AutoCloseable {
  /** Headers beyond this are not plausible and are refused rather than allocated. */
  private static final long MAX_HEADER = 100L << 20;

  /** One tensor's entry in the header. */
  public record Entry(String name, String dtype, int[] shape, long begin, long end) {
    public long numel() {
      long n = 1;
      for (int d : shape) {
        n *= d;
      }
      return n;
    }
  }

  private final Path file;
  private final FileChannel channel;
  private final long dataStart;
  private final Map<String, Entry> entries;
  private final Map<String, String> metadata;

  private SafetensorsFile(Path file, FileChannel channel, long dataStart, Map<String, Entry> entries, Map<String, String> metadata) {
    this.file = file;
    this.channel = channel;
    this.dataStart = dataStart;
    this.entries = entries;
    this.metadata = metadata;
  }

  public static SafetensorsFile open(Path file) {
    FileChannel channel;
    try {
      channel = FileChannel.open(file, StandardOpenOption.READ);
    } catch (IOException e) {
      throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
    }
    try {
      return parse(file, channel);
    } catch (RuntimeException e) {
      closeQuietly(channel);
      throw e;
    } catch (IOException e) {
      closeQuietly(channel);
      throw new CheckpointException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  private static SafetensorsFile parse(Path file, FileChannel channel) throws IOException {
    long size = channel.size();
    if (size < 8) {
      throw bad(file, "is " + size + " bytes, too short for a safetensors header (truncated?)");
    }
    ByteBuffer lenBuf = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, lenBuf, 0);
    long headerLen = lenBuf.flip().getLong();
    if (headerLen <= 0 || headerLen > MAX_HEADER || headerLen > size - 8) {
      throw bad(file, "declares a " + headerLen + "-byte header but the file has " + (size - 8)
          + " bytes after the length field (truncated or not a safetensors file)");
    }
    ByteBuffer headerBuf = ByteBuffer.allocate((int) headerLen);
    readFully(channel, headerBuf, 8);
    JsonNode header;
    try {
      header = new ObjectMapper().readTree(new String(headerBuf.array(), StandardCharsets.UTF_8));
    } catch (IOException e) {
      throw bad(file, "has a header that is not valid JSON (" + firstLine(e.getMessage()) + ")");
    }
    if (header == null || !header.isObject()) {
      throw bad(file, "has a header that is not a JSON object");
    }
    long dataStart = 8 + headerLen;
    long dataSize = size - dataStart;
    Map<String, Entry> entries = new LinkedHashMap<>();
    Map<String, String> metadata = new LinkedHashMap<>();
    for (Iterator<Map.Entry<String, JsonNode>> it = header.fields(); it.hasNext(); ) {
      Map.Entry<String, JsonNode> f = it.next();
      if (f.getKey().equals("__metadata__")) {
        f.getValue().fields().forEachRemaining(m -> metadata.put(m.getKey(), m.getValue().asText()));
        continue;
      }
      entries.put(f.getKey(), entry(file, f.getKey(), f.getValue(), dataSize));
    }
    checkNoOverlap(file, entries);
    return new SafetensorsFile(file, channel, dataStart, Collections.unmodifiableMap(entries), Collections.unmodifiableMap(metadata));
  }

  private static Entry entry(Path file, String name, JsonNode node, long dataSize) {
    JsonNode dtype = node.get("dtype");
    JsonNode shape = node.get("shape");
    JsonNode offsets = node.get("data_offsets");
    if (dtype == null || shape == null || !shape.isArray() || offsets == null || !offsets.isArray() || offsets.size() != 2) {
      throw bad(file, "has a malformed header entry for tensor '" + name + "' (needs dtype, shape, data_offsets)");
    }
    int[] dims = new int[shape.size()];
    for (int i = 0; i < dims.length; i++) {
      long d = shape.get(i).asLong(-1);
      if (!shape.get(i).isIntegralNumber() || d < 0 || d > Integer.MAX_VALUE) {
        throw bad(file, "gives tensor '" + name + "' an invalid shape " + shape);
      }
      dims[i] = (int) d;
    }
    long begin = offsets.get(0).asLong(-1);
    long end = offsets.get(1).asLong(-1);
    Entry e = new Entry(name, dtype.asText(), dims, begin, end);
    int width = switch (e.dtype()) {
      case "F32" -> 4;
      case "F16", "BF16" -> 2;
      case "F64" -> 8;
      default -> throw bad(file, "stores tensor '" + name + "' as " + e.dtype()
          + "; edgelm imports F32, F16, BF16 and F64 checkpoints");
    };
    if (begin < 0 || end < begin) {
      throw bad(file, "gives tensor '" + name + "' an invalid byte range [" + begin + ", " + end + ")");
    }
    long expected = e.numel() * width;
    if (end - begin != expected) {
      throw bad(file, "header lies about sizes: tensor '" + name + "' of shape " + Arrays.toString(dims)
          + " and dtype " + e.dtype() + " needs " + expected + " bytes but its range holds " + (end - begin));
    }
    if (end > dataSize) {
      throw bad(file, "is truncated: tensor '" + name + "' ends at data byte " + end + " but the file holds only "
          + dataSize + " data bytes");
    }
    return e;
  }

  private static void checkNoOverlap(Path file, Map<String, Entry> entries) {
    Entry[] sorted = entries.values().stream()
        .filter(e -> e.end() > e.begin())
        .sorted((a, b) -> Long.compare(a.begin(), b.begin()))
        .toArray(Entry[]::new);
    for (int i = 1; i < sorted.length; i++) {
      if (sorted[i].begin() < sorted[i - 1].end()) {
        throw bad(file, "header lies about sizes: tensors '" + sorted[i - 1].name() + "' and '"
            + sorted[i].name() + "' overlap");
      }
    }
  }

  public Path file() {
    return file;
  }

  public Set<String> names() {
    return entries.keySet();
  }

  public boolean contains(String name) {
    return entries.containsKey(name);
  }

  public Entry entry(String name) {
    Entry e = entries.get(name);
    if (e == null) {
      throw new CheckpointException(file + " has no tensor '" + name + "'");
    }
    return e;
  }

  public Map<String, String> metadata() {
    return metadata;
  }

  /** Reads a tensor as fp32. */
  public Tensor read(String name) {
    Entry e = entry(name);
    long bytes = e.end() - e.begin();
    if (bytes > Integer.MAX_VALUE - 16) {
      throw new CheckpointException("tensor '" + name + "' in " + file + " is larger than 2 GiB; not supported");
    }
    ByteBuffer buf = ByteBuffer.allocate((int) bytes).order(ByteOrder.LITTLE_ENDIAN);
    try {
      readFully(channel, buf, dataStart + e.begin());
    } catch (IOException ex) {
      throw new CheckpointException("cannot read tensor '" + name + "' from " + file + ": " + ex.getMessage(), ex);
    }
    buf.flip();
    int n = (int) e.numel();
    float[] out = new float[n];
    switch (e.dtype()) {
      case "F32" -> buf.asFloatBuffer().get(out);
      case "F16" -> {
        for (int i = 0; i < n; i++) {
          out[i] = Half.fp16ToFloat(buf.getShort());
        }
      }
      case "BF16" -> {
        for (int i = 0; i < n; i++) {
          out[i] = Half.bf16ToFloat(buf.getShort());
        }
      }
      case "F64" -> {
        for (int i = 0; i < n; i++) {
          out[i] = (float) buf.getDouble();
        }
      }
      default -> throw new IllegalStateException(e.dtype());
    }
    return Tensor.of(out, e.shape());
  }

  private static void readFully(FileChannel channel, ByteBuffer buf, long position) throws IOException {
    long pos = position;
    while (buf.hasRemaining()) {
      int n = channel.read(buf, pos);
      if (n < 0) {
        throw new IOException("unexpected end of file at byte " + pos);
      }
      pos += n;
    }
  }

  private static CheckpointException bad(Path file, String what) {
    return new CheckpointException(file + " " + what);
  }

  private static String firstLine(String s) {
    if (s == null) {
      return "";
    }
    int nl = s.indexOf('\n');
    return nl < 0 ? s : s.substring(0, nl);
  }

  private static void closeQuietly(FileChannel c) {
    try {
      c.close();
    } catch (IOException ignored) {
      // Already failing with a better error.
    }
  }

  @Override
  public void close() {
    closeQuietly(channel);
  }
}
