package dev.edgelm.engine;

/** A model package (or a tokenizer file) is missing, corrupt, or of a kind the engine cannot run. */
public final class ModelPackageException extends EngineException {
  private static final long serialVersionUID = 1L;

  public ModelPackageException(String message) {
    super(message, null);
  }

  public ModelPackageException(String message, Throwable cause) {
    super(message, cause);
  }
}
