package dev.edgelm.daemon.internal;

import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.Ticker;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.proto.Units;
import dev.edgelm.proto.v1.ModelState;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * A model's first load (or its next one after it left memory): a hub model's variant selected and pulled unless the
 * store holds it (hub threads), then {@link ModelLoads#open} (loader thread), each step recorded in the entry's
 * {@link ServedState}, and the outcome — loaded or failed, and how long it took — recorded once the load completes.
 *
 * <p>Threading: {@link #start} is called by the cache under its lock for the name (it only chains futures); the steps
 * run on the hub and loader threads; {@code recorded} runs on whichever completed the load.
 */
final class FirstLoads {
  private static final Logger LOG = Logger.getLogger(FirstLoads.class.getName());

  private final ModelLoads loads;
  private final HubReleases releases;
  private final Executor hub;
  private final Ticker ticker;
  private final Telemetry telemetry;
  /** After an outcome is recorded: the cache's weights changed. */
  private final Runnable recorded;

  FirstLoads(ModelLoads loads, HubReleases releases, Executor hub, Ticker ticker, Telemetry telemetry, Runnable recorded) {
    this.loads = loads;
    this.releases = releases;
    this.hub = hub;
    this.ticker = ticker;
    this.telemetry = telemetry;
    this.recorded = recorded;
  }

  /** Starts loading {@code sm}; the returned future is the one the cache holds ({@code sm.attempt} has both). */
  CompletableFuture<LoadedModel> start(ServedModel sm) {
    InstalledVariant pulled = sm.update(s -> s.withStatus(ModelState.MODEL_STATE_LOADING)).pulled();
    long start = ticker.read();
    CompletableFuture<Path> dir;
    if (!sm.fromHub()) {
      dir = CompletableFuture.completedFuture(sm.path);
    } else if (pulled != null && Files.isDirectory(pulled.packageDir())) {
      dir = CompletableFuture.completedFuture(pulled.packageDir());
    } else {
      dir = CompletableFuture.supplyAsync(() -> pullSelected(sm), hub);
    }
    CompletableFuture<LoadedModel> loaded = dir.thenApplyAsync(d -> open(sm, d), loads.executor());
    // The cache holds `loaded`; finished runs once it is complete, so a model reported loaded is
    // one acquire() finds. Callers of load() wait for `settled`, so they see the state it records.
    CompletableFuture<LoadedModel> settled = loaded.whenComplete((m, e) -> finished(sm, m, e, Duration.ofNanos(ticker.read() - start)));
    sm.attempt = new ServedModel.LoadAttempt(loaded, settled);
    return loaded;
  }

  /** Selects a variant for this host and pulls only that one, recording each (hub thread). */
  private Path pullSelected(ServedModel sm) {
    HubReleases.Selected selected = releases.select(sm);
    sm.update(s -> s.withSelection(selected.selection(), selected.checkedMillis()));
    InstalledVariant v = releases.pull(sm, selected);
    sm.update(s -> s.withVariant(v, selected.selection()));
    return v.packageDir();
  }

  /** Loader thread. */
  private LoadedModel open(ServedModel sm, Path dir) {
    ModelPackage pkg = loads.read(dir);
    ServedState s = sm.update(st -> st.withDescriptor(pkg.descriptor())); // shown while it loads, and when it does not fit
    LoadedModel m = loads.open(sm, pkg, sm.fromHub() ? s.executionProvider() : null, false);
    sm.update(st -> st.withLoaded(m, st.loadSeconds()));
    return m;
  }

  private void finished(ServedModel sm, LoadedModel m, Throwable e, Duration took) {
    double seconds = took.toNanos() / 1e9;
    if (e == null) {
      sm.update(s -> s.succeeded(seconds));
      telemetry.modelLoaded(sm.name, took, true);
      LOG.info(() -> "loaded model " + sm.name + " in " + Math.round(took.toMillis()) + " ms (" + Units.size(m.budgetedBytes) + " with KV budget)");
    } else {
      Throwable cause = LoadFailures.unwrap(e);
      long now = ticker.read();
      sm.update(s -> s.failed(cause, now, seconds));
      telemetry.modelLoaded(sm.name, took, false);
      LOG.log(Level.WARNING, "loading model " + sm.name + " failed: " + cause.getMessage());
    }
    recorded.run();
  }
}
