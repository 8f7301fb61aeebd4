package dev.edgelm.engine.testing;

import dev.edgelm.engine.tokenizer.StreamDecoder;
import dev.edgelm.engine.tokenizer.Tokenizer;

/** Runs ids through a fresh {@link StreamDecoder}, as a generation loop would. */
public final class StreamDecoding {
  private StreamDecoding() {}

  /** Everything a new stream decoder of {@code tokenizer} emits for {@code ids}, flush included. */
  public static String decodeAll(Tokenizer tokenizer, int[] ids) {
    StreamDecoder decoder = tokenizer.newStreamDecoder();
    StringBuilder text = new StringBuilder();
    for (int id : ids) {
      text.append(decoder.push(id));
    }
    return text.append(decoder.flush()).toString();
  }
}
