package dev.edgelm.engine.testing;

import dev.edgelm.engine.tokenizer.StreamDecoder;
import dev.edgelm.engine.tokenizer.Tokenizer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * A tokenizer over an explicit table of byte strings, for tests that need text without a real
 * vocabulary. Encoding is greedy longest match; pieces may be partial UTF-8 (like byte-fallback
 * tokens), and the stream decoder holds such bytes back until they form whole characters.
 * Id {@link #bos} and {@link #eos} are special and decode to nothing.
 */
public final class FakeTokenizer implements Tokenizer {
  private final byte[][] pieces;
  private final int bos;
  private final int eos;
  private final boolean addsBos;

  private FakeTokenizer(byte[][] pieces, int bos, int eos, boolean addsBos) {
    this.pieces = pieces;
    this.bos = bos;
    this.eos = eos;
    this.addsBos = addsBos;
  }

  /** Ids 0 = BOS, 1 = EOS, then one id per piece in order; no BOS added to prompts. */
  public static FakeTokenizer of(String... pieces) {
    return ofBytes(Arrays.stream(pieces).map(p -> p.getBytes(StandardCharsets.UTF_8)).toArray(byte[][]::new));
  }

  public static FakeTokenizer ofBytes(byte[]... pieces) {
    byte[][] table = new byte[pieces.length + 2][];
    table[0] = new byte[0];
    table[1] = new byte[0];
    System.arraycopy(pieces, 0, table, 2, pieces.length);
    return new FakeTokenizer(table, 0, 1, false);
  }

  /** The same table, prepending BOS to prompts. */
  public FakeTokenizer addingBos() {
    return new FakeTokenizer(pieces, bos, eos, true);
  }

  /** Id of {@code piece} (its first occurrence). */
  public int id(String piece) {
    byte[] b = piece.getBytes(StandardCharsets.UTF_8);
    for (int i = 2; i < pieces.length; i++) {
      if (Arrays.equals(pieces[i], b)) {
        return i;
      }
    }
    throw new IllegalArgumentException("no piece " + piece);
  }

  @Override
  public int[] encode(String text) {
    byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
    List<Integer> ids = new ArrayList<>();
    int at = 0;
    while (at < bytes.length) {
      int best = -1;
      int bestLength = 0;
      for (int i = 2; i < pieces.length; i++) {
        byte[] p = pieces[i];
        if (p.length > bestLength && at + p.length <= bytes.length
            && Arrays.equals(bytes, at, at + p.length, p, 0, p.length)) {
          best = i;
          bestLength = p.length;
        }
      }
      if (best < 0) {
        throw new IllegalArgumentException("fake vocabulary cannot encode byte " + bytes[at] + " of " + text);
      }
      ids.add(best);
      at += bestLength;
    }
    return ids.stream().mapToInt(Integer::intValue).toArray();
  }

  @Override
  public String decode(int[] ids) {
    StreamDecoder d = newStreamDecoder();
    StringBuilder s = new StringBuilder();
    for (int id : ids) {
      s.append(d.push(id));
    }
    return s.append(d.flush()).toString();
  }

  @Override
  public StreamDecoder newStreamDecoder() {
    return new StreamDecoder() {
      private byte[] pending = new byte[0];

      @Override
      public String push(int tokenId) {
        byte[] p = pieces[tokenId];
        byte[] all = Arrays.copyOf(pending, pending.length + p.length);
        System.arraycopy(p, 0, all, pending.length, p.length);
        int complete = completeUtf8Prefix(all);
        pending = Arrays.copyOfRange(all, complete, all.length);
        return new String(all, 0, complete, StandardCharsets.UTF_8);
      }

      @Override
      public String flush() {
        String rest = new String(pending, StandardCharsets.UTF_8);
        pending = new byte[0];
        return rest;
      }
    };
  }

  /** Length of the longest prefix that does not end inside a multi-byte character. */
  private static int completeUtf8Prefix(byte[] b) {
    int end = b.length;
    for (int back = 1; back <= Math.min(3, end); back++) {
      int lead = b[end - back] & 0xFF;
      if ((lead & 0xC0) == 0x80) {
        continue; // continuation byte: look further back for the lead
      }
      int need = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
      return need > back ? end - back : end;
    }
    return end;
  }

  @Override
  public int vocabSize() {
    return pieces.length;
  }

  @Override
  public OptionalInt bosId() {
    return OptionalInt.of(bos);
  }

  @Override
  public OptionalInt eosId() {
    return OptionalInt.of(eos);
  }

  @Override
  public boolean addsBos() {
    return addsBos;
  }

  @Override
  public String piece(int id) {
    return new String(pieces[id], StandardCharsets.UTF_8);
  }
}
