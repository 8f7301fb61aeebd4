package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.BadRequestException;
import dev.edgelm.daemon.UnknownModelException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * The models the daemon knows, by name, in the order they were added (configuration order, then
 * Load/Pull requests).
 *
 * <p>Threading: thread-safe; a lock on this object guards the map, held only for map operations.
 */
final class ModelNames {
  /** @GuardedBy("this") */
  private final Map<String, ServedModel> models = new LinkedHashMap<>();

  /**
   * The model named {@code name} when it has the same source, else a new one from {@code create}.
   *
   * @throws BadRequestException when the name is taken by another source
   */
  synchronized ServedModel add(String name, Predicate<ServedModel> sameSource, Supplier<ServedModel> create) {
    ServedModel existing = models.get(name);
    if (existing != null) {
      if (!sameSource.test(existing)) {
        throw new BadRequestException("model name '" + name + "' is already taken by " + existing.describeSource()
            + "; choose another name or unload it first");
      }
      return existing;
    }
    ServedModel sm = create.get();
    models.put(name, sm);
    return sm;
  }

  /** Removes {@code sm} if it is still the model of its name. */
  synchronized void remove(ServedModel sm) {
    models.remove(sm.name, sm);
  }

  /** @throws UnknownModelException when no model has this name */
  synchronized ServedModel get(String name) {
    ServedModel sm = models.get(name);
    if (sm == null) {
      throw new UnknownModelException("no model named '" + name + "'; the daemon serves " + (models.isEmpty() ? "none" : String.join(", ", models.keySet())));
    }
    return sm;
  }

  synchronized List<ServedModel> all() {
    return List.copyOf(models.values());
  }
}
