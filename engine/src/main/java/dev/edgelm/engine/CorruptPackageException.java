package dev.edgelm.engine;

import java.nio.file.Path;

/**
 * A file of a model package does not match the sha256 its {@code variant.json} records: the bytes
 * on disk changed after the package was written or pulled (bit rot, a partial copy, tampering).
 * The daemon answers DATA_LOSS; the CLI exits 3. Import or pull the package again.
 */
public final class CorruptPackageException extends ModelPackageException {
  private static final long serialVersionUID = 1L;

  private final transient Path file;

  public CorruptPackageException(Path file, String message) {
    super(message);
    this.file = file;
  }

  /** The first file found damaged. */
  public Path file() {
    return file;
  }
}
