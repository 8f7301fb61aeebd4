package dev.edgelm.daemon.internal;

import dev.edgelm.proto.Units;
import com.github.benmanes.caffeine.cache.AsyncCache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.RemovalCause;
import dev.edgelm.daemon.ModelTooLargeException;
import dev.edgelm.engine.Ticker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.function.BiConsumer;
import java.util.function.Supplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * The models in memory: a Caffeine {@link AsyncCache} of {@link LoadedModel}s by name, weighed
 * against {@code cache.memory_budget}.
 *
 * <h2>Design</h2>
 *
 * <p>Each loaded model weighs its {@link Footprint#budgetedBytes()} (weights plus a KV budget of
 * bytes per token x context x max_concurrent). Pinned models weigh zero inside Caffeine and never
 * expire; the cache's maximum is the budget minus what pinned models weigh ({@link #updateMaximum}),
 * so they still count. Unpinned models expire after {@code cache.keep_alive} without use, on the
 * injected ticker.
 *
 * <p>Before a load, {@link #ensureFits} refuses a model that cannot fit beside the pinned ones
 * ({@link ModelTooLargeException}: FAILED_PRECONDITION) and {@link #makeRoom} evicts least recently
 * used unpinned models, idle ones first. Caffeine's own size eviction is only a backstop: its TinyLFU
 * admission would otherwise prefer a frequently used model over the one just loaded, and a client
 * that asked for a model would see it thrown away.
 *
 * <p>A model that leaves the cache (eviction, expiry, unload, replacement by a swap) is retired, not
 * closed: it closes when its last {@link LoadedModel.Lease} is released.
 *
 * <p>Threading: thread-safe. Caffeine's maintenance, removals and scheduled expiry run on the cache
 * thread ({@code cacheTasks}); {@link #ensureFits} and {@link #makeRoom} run on the loader thread,
 * one load at a time, so room-making decisions do not race. The removal callback runs on the cache
 * thread.
 */
final class ModelCache {
  private static final Logger LOG = Logger.getLogger(ModelCache.class.getName());
  /**
   * Caffeine logs every failed asynchronous load at WARNING, stack trace and all; the registry logs
   * them itself, with the model's name. Only that logger is quietened (held here: JUL keeps loggers
   * weakly), not the rest of Caffeine's.
   */
  private static final Logger ASYNC_LOAD_LOG = Logger.getLogger("com.github.benmanes.caffeine.cache.LocalAsyncCache");

  private final long budgetBytes;
  private final Telemetry telemetry;
  private final AsyncCache<String, LoadedModel> cache;
  private final BiConsumer<String, LoadedModel> left;

  /**
   * @param left called on the cache thread after a model left the cache for good (not when a swap
   *     replaced it), once the cache's maximum is updated
   */
  ModelCache(long budgetBytes, Duration keepAlive, Ticker ticker, Executor cacheTasks, ScheduledExecutorService cacheExecutor,
      Telemetry telemetry, BiConsumer<String, LoadedModel> left) {
    ASYNC_LOAD_LOG.setLevel(Level.SEVERE);
    this.budgetBytes = budgetBytes;
    this.telemetry = telemetry;
    this.left = left;
    this.cache = Caffeine.newBuilder()
        .executor(cacheTasks)
        .scheduler((executor, command, delay, unit) -> {
          try {
            return cacheExecutor.schedule(() -> executor.execute(command), delay, unit);
          } catch (RejectedExecutionException e) {
            return CompletableFuture.completedFuture(null); // shutting down: nothing left to expire
          }
        })
        .ticker(ticker::read)
        .maximumWeight(kib(budgetBytes))
        .weigher((String name, LoadedModel m) -> m.served.pinned() ? 0 : (int) Math.min(Integer.MAX_VALUE, kib(m.budgetedBytes)))
        .expireAfter(new Expiry<String, LoadedModel>() {
          private long ttl(LoadedModel m) {
            return m.served.pinned() || keepAlive.isZero() ? Long.MAX_VALUE : keepAlive.toNanos();
          }

          @Override
          public long expireAfterCreate(String key, LoadedModel m, long now) {
            return ttl(m);
          }

          @Override
          public long expireAfterUpdate(String key, LoadedModel m, long now, long current) {
            return ttl(m);
          }

          @Override
          public long expireAfterRead(String key, LoadedModel m, long now, long current) {
            return ttl(m);
          }
        })
        .removalListener((String name, LoadedModel m, RemovalCause cause) -> removed(name, m, cause))
        .buildAsync();
  }

  private static long kib(long bytes) {
    return (bytes + 1023) / 1024;
  }

  long budgetBytes() {
    return budgetBytes;
  }

  /** The model's future: the one in the cache, or {@code load}'s, which the cache then holds. */
  CompletableFuture<LoadedModel> get(String name, Supplier<CompletableFuture<LoadedModel>> load) {
    return cache.get(name, (n, executor) -> load.get());
  }

  /** Makes {@code m} the model of its name (a swap): the one it replaces is retired. */
  void put(LoadedModel m) {
    cache.put(m.served.name, CompletableFuture.completedFuture(m));
  }

  /** Drops the model from memory (streams using it finish first); false when it was not loaded. */
  boolean remove(String name) {
    LoadedModel m = loadedNow(name);
    return m != null && cache.synchronous().asMap().remove(name, m);
  }

  /** Touches the model so that keep-alive counts from now. */
  void touch(String name) {
    cache.getIfPresent(name);
  }

  /** The model if it is in memory now (a completed load), else null. */
  LoadedModel loadedNow(String name) {
    CompletableFuture<LoadedModel> f = cache.getIfPresent(name);
    return f != null && f.isDone() && !f.isCompletedExceptionally() ? f.join() : null;
  }

  /** Whether the cache holds nothing (loaded or loading) under {@code name}. */
  boolean absent(String name) {
    return cache.getIfPresent(name) == null;
  }

  /** Loaded models without touching their access time. */
  private List<LoadedModel> loadedAll() {
    List<LoadedModel> out = new ArrayList<>();
    for (CompletableFuture<LoadedModel> f : cache.asMap().values()) {
      if (f.isDone() && !f.isCompletedExceptionally()) {
        out.add(f.join());
      }
    }
    return out;
  }

  /** What the pinned models in memory weigh, {@code except} (a model, or null for none) left out. */
  private long pinnedBytesExcept(ServedModel except) {
    long bytes = 0;
    for (LoadedModel m : loadedAll()) {
      if (m.served != except && m.served.pinned()) {
        bytes += m.budgetedBytes;
      }
    }
    return bytes;
  }

  /** @throws ModelTooLargeException when {@code need} cannot fit the budget beside the other pinned models */
  void ensureFits(ServedModel sm, Footprint need) {
    long pinnedOthers = pinnedBytesExcept(sm);
    if (pinnedOthers + need.budgetedBytes() > budgetBytes) {
      throw new ModelTooLargeException("model '" + sm.name + "' needs " + Units.size(need.budgetedBytes()) + " (weights and a KV budget of "
          + Units.size(need.kvBytes()) + " for " + need.concurrency() + " x " + need.contextTokens()
          + " tokens) but cache.memory_budget is " + Units.size(budgetBytes) + " with " + Units.size(pinnedOthers)
          + " pinned; raise cache.memory_budget, or lower max_concurrent or generation.max_context");
    }
  }

  /** @throws ModelTooLargeException when pinning {@code m} would leave pinned models above the budget */
  void ensurePinnable(LoadedModel m) {
    long others = pinnedBytesExcept(m.served);
    if (others + m.budgetedBytes > budgetBytes) {
      throw new ModelTooLargeException("pinning '" + m.served.name + "' (" + Units.size(m.budgetedBytes) + ") would pin "
          + Units.size(others + m.budgetedBytes) + ", above cache.memory_budget " + Units.size(budgetBytes) + "; unpin another model first");
    }
  }

  /** Re-weighs a loaded model whose pin changed, and the room left for unpinned ones. */
  void reweigh(LoadedModel m) {
    if (m != null) {
      put(m);
    }
    updateMaximum();
  }

  /** Evicts least recently used unpinned models (idle ones first) until {@code need} more fits the budget. */
  void makeRoom(ServedModel sm, Footprint need) {
    List<LoadedModel> loaded = loadedAll();
    long used = 0;
    for (LoadedModel m : loaded) {
      if (m.served != sm) {
        used += m.budgetedBytes;
      }
    }
    List<LoadedModel> victims = new ArrayList<>();
    for (LoadedModel m : loaded) {
      if (m.served != sm && !m.served.pinned()) {
        victims.add(m);
      }
    }
    victims.sort(Comparator.comparing((LoadedModel m) -> m.leases() > 0).thenComparingLong(m -> m.lastUsedNanos));
    for (LoadedModel victim : victims) {
      if (used + need.budgetedBytes() <= budgetBytes) {
        break;
      }
      LOG.info(() -> "evicting model " + victim.served.name + " (" + Units.size(victim.budgetedBytes) + ") to make room for " + sm.name);
      victim.evictionCause = "size";
      cache.synchronous().asMap().remove(victim.served.name, victim);
      used -= victim.budgetedBytes;
    }
  }

  private void removed(String name, LoadedModel m, RemovalCause cause) {
    if (m == null) {
      return;
    }
    if (cause == RemovalCause.REPLACED) {
      if (loadedNow(name) != m) {
        m.retire(); // swapped out: closes once its last stream ends
      }
      return;
    }
    m.retire();
    String why = m.evictionCause != null ? m.evictionCause
        : cause == RemovalCause.SIZE ? "size" : cause == RemovalCause.EXPIRED ? "expired" : null;
    if (why != null) {
      telemetry.cacheEviction(name, why);
      LOG.info(() -> "model " + name + " left memory (" + why + ")");
    }
    updateMaximum();
    left.accept(name, m);
  }

  /** Budget minus what pinned models weigh: the room Caffeine manages for unpinned ones. Call after weights change. */
  void updateMaximum() {
    long max = Math.max(0, kib(budgetBytes) - kib(pinnedBytesExcept(null)));
    cache.synchronous().policy().eviction().ifPresent(e -> e.setMaximum(max));
  }

  /** Bytes the loaded models weigh, and how many there are (for gauges). */
  long[] weightAndCount() {
    long w = 0;
    long n = 0;
    for (LoadedModel m : loadedAll()) {
      w += m.budgetedBytes;
      n++;
    }
    return new long[] {w, n};
  }

  /** Runs pending cache maintenance now (tests with a fake ticker). */
  void cleanUp() {
    cache.synchronous().cleanUp();
  }

  /** Drops every model (each closes once its streams finish). */
  void invalidateAll() {
    cache.synchronous().invalidateAll();
    cache.synchronous().cleanUp();
  }
}
