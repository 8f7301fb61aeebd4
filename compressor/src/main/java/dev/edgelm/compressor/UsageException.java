package dev.edgelm.compressor;

/** Options that cannot work together, or an output location that cannot be used as asked. */
public final class UsageException extends CompressorException {
  private static final long serialVersionUID = 1L;

  public UsageException(String message) {
    super(message, null);
  }

  public UsageException(String message, Throwable cause) {
    super(message, cause);
  }
}
