package dev.edgelm.engine;

/**
 * A model package (or a tokenizer file) is missing, corrupt, or of a kind the engine cannot run.
 * {@link CorruptPackageException} is the case where a file's bytes do not match its recorded digest.
 */
public sealed class ModelPackageException extends EngineException permits CorruptPackageException {
  private static final long serialVersionUID = 1L;

  public ModelPackageException(String message) {
    super(message, null);
  }

  public ModelPackageException(String message, Throwable cause) {
    super(message, cause);
  }
}
