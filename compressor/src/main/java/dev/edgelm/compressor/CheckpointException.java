package dev.edgelm.compressor;

/** An input checkpoint (or its tokenizer) is missing, corrupt, lies about its sizes, or is of a kind edgelm cannot import. */
public final class CheckpointException extends CompressorException {
  private static final long serialVersionUID = 1L;

  public CheckpointException(String message) {
    super(message, null);
  }

  public CheckpointException(String message, Throwable cause) {
    super(message, cause);
  }
}
