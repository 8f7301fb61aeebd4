package dev.edgelm.compressor;

/** Writing an output failed; nothing half-written is left at the destination. */
public final class OutputException extends CompressorException {
  private static final long serialVersionUID = 1L;

  public OutputException(String message) {
    super(message, null);
  }

  public OutputException(String message, Throwable cause) {
    super(message, cause);
  }
}
