package dev.edgelm.engine;

/** A request the engine cannot serve as asked: empty or over-long prompt, invalid sampling parameter, unknown token id. */
public final class InvalidRequestException extends EngineException {
  private static final long serialVersionUID = 1L;

  public InvalidRequestException(String message) {
    super(message, null);
  }

  public InvalidRequestException(String message, Throwable cause) {
    super(message, cause);
  }
}
