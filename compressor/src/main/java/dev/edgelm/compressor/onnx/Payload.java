package dev.edgelm.compressor.onnx;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.WritableByteChannel;

/**
 * The bytes of one initializer, produced on demand so that a large model is streamed to disk
 * instead of being held twice in memory (once as weights, once as serialized bytes).
 */
public interface Payload {
  long byteSize();

  /** Writes exactly {@link #byteSize()} little-endian bytes. */
  void writeTo(WritableByteChannel out) throws IOException;

  /** The bytes in memory; only for small payloads. */
  default byte[] toBytes() {
    if (byteSize() > Integer.MAX_VALUE - 16) {
      throw new IllegalStateException("payload of " + byteSize() + " bytes is too large to inline");
    }
    ByteArrayChannel channel = new ByteArrayChannel((int) byteSize());
    try {
      writeTo(channel);
    } catch (IOException e) {
      throw new IllegalStateException(e);
    }
    return channel.bytes();
  }

  static Payload ofBytes(byte[] bytes) {
    return new Payload() {
      @Override
      public long byteSize() {
        return bytes.length;
      }

      @Override
      public void writeTo(WritableByteChannel out) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        while (b.hasRemaining()) {
          out.write(b);
        }
      }
    };
  }

  static Payload ofFloats(float[] values) {
    return new Payload() {
      @Override
      public long byteSize() {
        return 4L * values.length;
      }

      @Override
      public void writeTo(WritableByteChannel out) throws IOException {
        ByteBuffer chunk = ByteBuffer.allocate(1 << 20).order(ByteOrder.LITTLE_ENDIAN);
        int i = 0;
        while (i < values.length) {
          chunk.clear();
          int n = Math.min(values.length - i, chunk.capacity() / 4);
          chunk.asFloatBuffer().put(values, i, n);
          chunk.limit(n * 4);
          while (chunk.hasRemaining()) {
            out.write(chunk);
          }
          i += n;
        }
      }
    };
  }

  static Payload ofLongs(long[] values) {
    ByteBuffer b = ByteBuffer.allocate(8 * values.length).order(ByteOrder.LITTLE_ENDIAN);
    for (long v : values) {
      b.putLong(v);
    }
    return ofBytes(b.array());
  }

  /** A growable in-memory channel for {@link #toBytes()}. */
  final class ByteArrayChannel implements WritableByteChannel {
    private final byte[] buffer;
    private int position;

    ByteArrayChannel(int capacity) {
      buffer = new byte[capacity];
    }

    @Override
    public int write(ByteBuffer src) {
      int n = src.remaining();
      src.get(buffer, position, n);
      position += n;
      return n;
    }

    byte[] bytes() {
      return buffer;
    }

    @Override
    public boolean isOpen() {
      return true;
    }

    @Override
    public void close() {}
  }
}
