package dev.edgelm.engine.tokenizer;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.function.IntFunction;

/**
 * A {@link StreamDecoder} over a tokenizer's per-token bytes. Bytes accumulate until they form
 * complete UTF-8; the JDK decoder, fed with {@code endOfInput=false}, leaves an incomplete trailing
 * sequence in the buffer and replaces a sequence with U+FFFD as soon as it cannot become valid, so
 * text is neither held back longer than needed nor emitted twice.
 *
 * <p>{@link BpeTokenizer#decode(int[])} runs through this class too, so a stream's pieces and the
 * decoding of the whole sequence cannot disagree about invalid bytes.
 */
final class Utf8StreamDecoder implements StreamDecoder {
  private final IntFunction<byte[]> tokenBytes;
  private final CharsetDecoder utf8 =
      StandardCharsets.UTF_8
          .newDecoder()
          .onMalformedInput(CodingErrorAction.REPLACE)
          .onUnmappableCharacter(CodingErrorAction.REPLACE);
  /** Bytes not yet emitted, in write mode. */
  private ByteBuffer pending = ByteBuffer.allocate(16);

  /** {@code tokenBytes} gives the bytes a token id stands for (empty for special tokens) and validates the id. */
  Utf8StreamDecoder(IntFunction<byte[]> tokenBytes) {
    this.tokenBytes = tokenBytes;
  }

  @Override
  public String push(int tokenId) {
    byte[] bytes = tokenBytes.apply(tokenId);
    if (bytes.length == 0) {
      return "";
    }
    if (pending.remaining() < bytes.length) {
      ByteBuffer larger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, pending.position() + bytes.length));
      pending.flip();
      larger.put(pending);
      pending = larger;
    }
    pending.put(bytes);
    return drain(false);
  }

  @Override
  public String flush() {
    String rest = drain(true);
    utf8.reset();
    return rest;
  }

  private String drain(boolean endOfInput) {
    pending.flip();
    // UTF-8 never yields more chars than bytes (a 4-byte sequence is 2 chars, a bad byte 1 U+FFFD).
    CharBuffer out = CharBuffer.allocate(pending.remaining() + 1);
    utf8.decode(pending, out, endOfInput);
    if (endOfInput) {
      utf8.flush(out);
    }
    pending.compact();
    return out.flip().toString();
  }
}
