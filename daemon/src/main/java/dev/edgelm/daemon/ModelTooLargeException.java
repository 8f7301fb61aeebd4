package dev.edgelm.daemon;

/** A model's weights and KV budget exceed the memory budget even with every unpinned model evicted. */
public final class ModelTooLargeException extends ServingException {
  private static final long serialVersionUID = 1L;

  public ModelTooLargeException(String message) {
    super(message);
  }
}
