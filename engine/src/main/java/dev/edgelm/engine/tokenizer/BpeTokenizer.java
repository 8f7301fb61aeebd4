package dev.edgelm.engine.tokenizer;

import dev.edgelm.engine.InvalidRequestException;
import java.util.Arrays;
import java.util.OptionalInt;

/**
 * What the two BPE tokenizers share: the id space, the bytes each id decodes to, the special ids
 * and decoding. Subclasses supply encoding.
 */
abstract class BpeTokenizer implements Tokenizer {
  private static final byte[] NOTHING = new byte[0];

  private final String[] pieces;
  private final byte[][] tokenBytes;
  private final OptionalInt bosId;
  private final OptionalInt eosId;
  private final boolean addsBos;

  /**
   * @param pieces vocabulary entries by id ({@code null} for an id the files leave unused)
   * @param tokenBytes bytes each id decodes to; {@code null} for special tokens, which decode to nothing
   */
  BpeTokenizer(String[] pieces, byte[][] tokenBytes, OptionalInt bosId, OptionalInt eosId, boolean addsBos) {
    this.pieces = pieces;
    this.tokenBytes = tokenBytes;
    this.bosId = bosId;
    this.eosId = eosId;
    this.addsBos = addsBos;
  }

  @Override
  public String decode(int[] ids) {
    StreamDecoder decoder = newStreamDecoder();
    StringBuilder text = new StringBuilder();
    for (int id : ids) {
      text.append(decoder.push(id));
    }
    return text.append(decoder.flush()).toString();
  }

  @Override
  public StreamDecoder newStreamDecoder() {
    return new Utf8StreamDecoder(this::tokenBytes);
  }

  /** The bytes {@code id} decodes to: empty for special tokens. */
  final byte[] tokenBytes(int id) {
    if (id < 0 || id >= pieces.length || pieces[id] == null) {
      throw new InvalidRequestException(
          "token id " + id + " is not in this tokenizer's vocabulary (ids 0.." + (pieces.length - 1) + ")");
    }
    byte[] bytes = tokenBytes[id];
    return bytes == null ? NOTHING : bytes;
  }

  @Override
  public int vocabSize() {
    return pieces.length;
  }

  @Override
  public OptionalInt bosId() {
    return bosId;
  }

  @Override
  public OptionalInt eosId() {
    return eosId;
  }

  @Override
  public boolean addsBos() {
    return addsBos;
  }

  @Override
  public String piece(int id) {
    tokenBytes(id);
    return pieces[id];
  }

  /** A growable int array for encoding output. */
  static final class IntList {
    private int[] values;
    private int size;

    IntList(int capacity) {
      values = new int[Math.max(4, capacity)];
    }

    void add(int value) {
      if (size == values.length) {
        values = Arrays.copyOf(values, size * 2);
      }
      values[size++] = value;
    }

    void addAll(int[] source, int length) {
      if (size + length > values.length) {
        values = Arrays.copyOf(values, Math.max(size * 2, size + length));
      }
      System.arraycopy(source, 0, values, size, length);
      size += length;
    }

    int[] toArray() {
      return Arrays.copyOf(values, size);
    }
  }
}
