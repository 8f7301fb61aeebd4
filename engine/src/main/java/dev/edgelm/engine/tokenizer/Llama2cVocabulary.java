package dev.edgelm.engine.tokenizer;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.OptionalInt;

/**
 * The contents of a llama2.c {@code tokenizer.bin}: little-endian int32 {@code max_token_length},
 * then, until the end of the file, one entry per id: float32 score, int32 byte length, UTF-8 bytes.
 *
 * <p>llama2.c's exporter writes SentencePiece pieces with real spaces in place of {@code ▁} and wraps
 * BOS and EOS in newlines ({@code "\n<s>\n"}); {@link #pieces} undoes both, so pieces read the way
 * SentencePiece and Hugging Face spell them. The file records no vocabulary size: a file cut exactly
 * at an entry boundary reads as a smaller vocabulary, which callers catch by comparing with the model.
 */
record Llama2cVocabulary(Path file, String[] pieces, float[] scores) {
  static final String UNK = "<unk>";
  static final String BOS = "<s>";
  static final String EOS = "</s>";

  /** Longest entry we accept; llama2.c itself sizes buffers from the header, which real files keep under 100. */
  private static final int MAX_TOKEN_LENGTH = 1 << 16;

  static Llama2cVocabulary read(Path file) {
    ByteBuffer in = ByteBuffer.wrap(TokenizerFiles.read(file)).order(ByteOrder.LITTLE_ENDIAN);
    if (in.remaining() < 4) {
      throw TokenizerFiles.corrupt(file, "is truncated (" + in.remaining() + " bytes, shorter than the llama2.c header)");
    }
    int maxTokenLength = in.getInt();
    if (maxTokenLength <= 0 || maxTokenLength > MAX_TOKEN_LENGTH) {
      throw TokenizerFiles.corrupt(file, "starts with max_token_length " + maxTokenLength + ", so it is not a llama2.c tokenizer.bin");
    }
    CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder();
    List<String> pieces = new ArrayList<>();
    float[] scores = new float[1024];
    while (in.hasRemaining()) {
      int id = pieces.size();
      if (in.remaining() < 8) {
        throw TokenizerFiles.corrupt(file, "is truncated inside entry " + id);
      }
      float score = in.getFloat();
      int length = in.getInt();
      if (Float.isNaN(score) || length < 0 || length > maxTokenLength) {
        throw TokenizerFiles.corrupt(
            file, "is corrupt at entry " + id + " (score " + score + ", length " + length + ", max_token_length " + maxTokenLength + ")");
      }
      if (in.remaining() < length) {
        throw TokenizerFiles.corrupt(file, "is truncated inside entry " + id);
      }
      ByteBuffer bytes = in.slice().limit(length);
      in.position(in.position() + length);
      try {
        pieces.add(fromStored(utf8.decode(bytes).toString()));
      } catch (CharacterCodingException e) {
        throw TokenizerFiles.corrupt(file, "entry " + id + " is not valid UTF-8", e);
      }
      if (id == scores.length) {
        scores = Arrays.copyOf(scores, id * 2);
      }
      scores[id] = score;
    }
    if (pieces.isEmpty()) {
      throw TokenizerFiles.corrupt(file, "holds no tokens");
    }
    return new Llama2cVocabulary(file, pieces.toArray(String[]::new), Arrays.copyOf(scores, pieces.size()));
  }

  /** The id of {@code piece} (SentencePiece spelling), if the vocabulary has it. */
  OptionalInt idOf(String piece) {
    for (int id = 0; id < pieces.length; id++) {
      if (pieces[id].equals(piece)) {
        return OptionalInt.of(id);
      }
    }
    return OptionalInt.empty();
  }

  private static String fromStored(String stored) {
    if (stored.equals("\n" + BOS + "\n")) {
      return BOS;
    }
    if (stored.equals("\n" + EOS + "\n")) {
      return EOS;
    }
    return stored.replace(' ', SentencePieceBpeTokenizer.SPACE);
  }
}
