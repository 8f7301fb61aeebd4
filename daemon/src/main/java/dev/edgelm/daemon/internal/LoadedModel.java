package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.ServableModel;
import dev.edgelm.engine.chat.ChatMessage;
import dev.edgelm.engine.chat.ChatTemplate;
import dev.edgelm.engine.chat.SpecialTokens;
import java.time.Clock;
import java.util.List;
import java.util.concurrent.Executor;

/**
 * A model in memory, as the cache holds it: the {@link ServableModel}, what it weighs against the
 * memory budget, and a count of the streams using it.
 *
 * <p>The cache may drop a model that streams still use (eviction, expiry, unload): it is then
 * retired, and closed only when its last {@link Lease} is released, on the closer executor, so
 * neither a cache thread nor an event loop ever waits for a session to close.
 *
 * <p>Threading: thread-safe; a short lock guards the lease count.
 */
final class LoadedModel {
  final ServedModel served;
  final ServableModel model;
  /** What it needs in memory, at the context it serves. */
  final Footprint footprint;
  /** What it weighs against cache.memory_budget: weights + KV budget ({@link Footprint#budgetedBytes()}). */
  final long budgetedBytes;
  final long kvBudgetBytes;
  /** Longest sequence served: the model's context, capped by generation.max_context. */
  final int contextLength;
  private final Executor closer;

  private final Object lock = new Object();
  private int leases;
  private boolean retired;
  private boolean closed;
  /** Its chat template once resolved (the first chat request resolves it; a template that fails is tried again). */
  private volatile ChatTemplate chat;
  /** Why the cache is dropping it, set just before an eviction the registry itself decides. */
  volatile String evictionCause;
  volatile long lastUsedNanos;

  LoadedModel(ServedModel served, ServableModel model, Footprint footprint, Executor closer, long nowNanos) {
    this.served = served;
    this.model = model;
    this.footprint = footprint;
    this.kvBudgetBytes = footprint.kvBytes();
    this.budgetedBytes = footprint.budgetedBytes();
    this.contextLength = footprint.contextTokens();
    this.closer = closer;
    this.lastUsedNanos = nowNanos;
  }

  /**
   * The prompt for a conversation, rendered with the model's chat template (ending with the assistant's turn opened):
   * the operator's {@code models.<name>.chat_template} when set (an explicit setting wins over the package), else the
   * package's own. On a decode worker.
   *
   * @throws dev.edgelm.engine.InvalidRequestException when there is no template, or the template refuses the conversation
   * @throws dev.edgelm.engine.ModelPackageException when the template does not parse or cannot be read
   */
  String renderChat(List<ChatMessage> messages) {
    ChatTemplate t = chat;
    if (t == null) {
      SpecialTokens tokens = SpecialTokens.of(model.languageModel().tokenizer());
      t = served.chatTemplate != null
          ? ChatTemplate.configured(served.name, served.chatTemplate, SpecialTokens.of(model.descriptor().getTokenizer().getChat()).orElse(tokens),
              Clock.systemUTC())
          : ChatTemplate.resolve(served.name, model.descriptor().getTokenizer().getChat(), null, tokens, Clock.systemUTC());
      chat = t;
    }
    return t.render(messages, true);
  }

  /** A use of the model by one stream; {@link #close()} exactly once (idempotent). */
  final class Lease implements AutoCloseable {
    private boolean released;

    LoadedModel loaded() {
      return LoadedModel.this;
    }

    @Override
    public void close() {
      synchronized (lock) {
        if (released) {
          return;
        }
        released = true;
        leases--;
        if (!(retired && leases == 0)) {
          return;
        }
      }
      closeNow();
    }
  }

  /** A new lease, or null when the model is retired (the caller treats it as not loaded). */
  Lease acquire(long nowNanos) {
    synchronized (lock) {
      if (retired) {
        return null;
      }
      leases++;
    }
    lastUsedNanos = nowNanos;
    return new Lease();
  }

  /** The cache no longer holds it: close now if unused, else when the last lease is released. */
  void retire() {
    synchronized (lock) {
      if (retired) {
        return;
      }
      retired = true;
      if (leases > 0) {
        return;
      }
    }
    closeNow();
  }

  int leases() {
    synchronized (lock) {
      return leases;
    }
  }

  boolean retired() {
    synchronized (lock) {
      return retired;
    }
  }

  private void closeNow() {
    synchronized (lock) {
      if (closed) {
        return;
      }
      closed = true;
    }
    try {
      closer.execute(model::close);
    } catch (java.util.concurrent.RejectedExecutionException e) {
      model.close(); // shutting down: the closer thread is gone
    }
  }

  @Override
  public String toString() {
    return "LoadedModel[" + served.name + ", " + budgetedBytes + " B, leases=" + leases() + ", retired=" + retired() + "]";
  }
}
