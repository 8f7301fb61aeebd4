package dev.edgelm.daemon;

/**
 * No variant of a release suits this host: each one needs what the host lacks (an operator, an
 * execution provider, CPU features, a newer ONNX Runtime), does not fit the memory budget, or falls
 * under the quality floor. The message names every variant's reason. Nothing was downloaded.
 * Retrying will not help until the host, the configuration or the release changes
 * (FAILED_PRECONDITION).
 */
public final class NoSuitableVariantException extends ServingException {
  private static final long serialVersionUID = 1L;

  public NoSuitableVariantException(String message) {
    super(message);
  }
}
