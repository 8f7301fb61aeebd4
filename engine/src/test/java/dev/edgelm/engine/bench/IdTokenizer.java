package dev.edgelm.engine.bench;

/** Decode speed needs no text: benchmarks work on ids, and a tokenizer that is asked for text says so. */
final class IdTokenizer implements dev.edgelm.engine.tokenizer.Tokenizer {
  @Override
  public int[] encode(String text) {
    throw new UnsupportedOperationException("the benchmark works on ids");
  }

  @Override
  public String decode(int[] ids) {
    throw new UnsupportedOperationException("the benchmark works on ids");
  }

  @Override
  public dev.edgelm.engine.tokenizer.StreamDecoder newStreamDecoder() {
    throw new UnsupportedOperationException("the benchmark works on ids");
  }

  @Override
  public int vocabSize() {
    return 0;
  }

  @Override
  public java.util.OptionalInt bosId() {
    return java.util.OptionalInt.empty();
  }

  @Override
  public java.util.OptionalInt eosId() {
    return java.util.OptionalInt.empty();
  }

  @Override
  public boolean addsBos() {
    return false;
  }

  @Override
  public String piece(int id) {
    return "";
  }
}
