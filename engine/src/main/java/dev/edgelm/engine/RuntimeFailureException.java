package dev.edgelm.engine;

/** ONNX Runtime failed while running a request the engine accepted. */
public final class RuntimeFailureException extends EngineException {
  private static final long serialVersionUID = 1L;

  public RuntimeFailureException(String message) {
    super(message, null);
  }

  public RuntimeFailureException(String message, Throwable cause) {
    super(message, cause);
  }
}
