package dev.edgelm.compressor;

/**
 * Base of every error the compressor reports; the subtype says whose fault it was.
 *
 * <ul>
 *   <li>{@link CheckpointException}: an input file (the checkpoint, the calibration text) is missing, corrupt, or of an
 *       unsupported kind;
 *   <li>{@link UsageException}: options that cannot work together (e.g. a group size that does not
 *       divide the width), or an output that already exists;
 *   <li>{@link OutputException}: writing the output failed (disk full, permissions).
 * </ul>
 *
 * <p>Messages are one line naming what was wrong and what to do.
 */
public abstract sealed class CompressorException extends RuntimeException
    permits CheckpointException, UsageException, OutputException {
  private static final long serialVersionUID = 1L;

  protected CompressorException(String message, Throwable cause) {
    super(message, cause);
  }
}
