package dev.edgelm.engine;

/**
 * Base of every error the engine reports. The subtype says whose fault it was, so callers (the CLI,
 * the daemon's single status mapper) can answer without parsing messages:
 *
 * <ul>
 *   <li>{@link ModelPackageException}: the package on disk is missing, corrupt or unsupported;
 *   <li>{@link InvalidRequestException}: the caller asked for something impossible (empty prompt,
 *       prompt longer than the context, bad sampling parameter);
 *   <li>{@link RuntimeFailureException}: ONNX Runtime failed while running a valid request.
 * </ul>
 *
 * <p>Messages are one line, name what was wrong and, where there is one, what to do.
 */
public abstract sealed class EngineException extends RuntimeException
    permits ModelPackageException, InvalidRequestException, RuntimeFailureException {
  private static final long serialVersionUID = 1L;

  protected EngineException(String message, Throwable cause) {
    super(message, cause);
  }
}
