package dev.edgelm.daemon;

import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.LanguageModel;
import dev.edgelm.proto.v1.VariantDescriptor;

/**
 * A loaded model as the daemon serves it: the {@link LanguageModel} generations run on, its
 * descriptor, and what it costs in memory (for the cache's weigher).
 *
 * <p>Threading: thread-safe, like {@link LanguageModel}. {@link #close()} is called once, by the
 * daemon, when no stream uses the model any more; it must not block for long (it runs on a decode
 * worker).
 */
public interface ServableModel extends AutoCloseable {
  LanguageModel languageModel();

  VariantDescriptor descriptor();

  /** Bytes held while loaded, apart from per-sequence KV caches (the weights). */
  long residentBytes();

  /** Bytes one token of context adds to one sequence's KV cache. */
  long kvCacheBytesPerToken();

  @Override
  void close();

  /** Wraps an ONNX Runtime model. */
  static ServableModel of(DecoderModel model) {
    return new ServableModel() {
      @Override
      public LanguageModel languageModel() {
        return model;
      }

      @Override
      public VariantDescriptor descriptor() {
        return model.descriptor();
      }

      @Override
      public long residentBytes() {
        return model.residentBytes();
      }

      @Override
      public long kvCacheBytesPerToken() {
        return model.kvCacheBytesPerToken();
      }

      @Override
      public void close() {
        model.close();
      }

      @Override
      public String toString() {
        return model.toString();
      }
    };
  }
}
