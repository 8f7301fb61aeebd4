package dev.edgelm.daemon.internal;

import dev.edgelm.daemon.ModelLoader;
import dev.edgelm.daemon.ServableModel;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.GenerationResult;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import java.util.OptionalDouble;
import java.util.logging.Logger;

/**
 * The on-device benchmark of a candidate variant ({@code select.benchmark_top}): pulls it into the
 * store (so it costs a download, once), loads it with the daemon's loader outside the model cache,
 * decodes a few tokens greedily after the BOS token, and closes it. The selector caches the result
 * per host fingerprint and variant digest.
 *
 * <p>Runs on a hub thread; blocks for the pull and the decode.
 */
final class HubBenchmark implements VariantSelector.CandidateBenchmark {
  private static final Logger LOG = Logger.getLogger(HubBenchmark.class.getName());

  private final HubModels hub;
  private final ModelLoader loader;
  private final SessionSettings settings;

  HubBenchmark(HubModels hub, ModelLoader loader, SessionSettings settings) {
    this.hub = hub;
    this.loader = loader;
    this.settings = settings;
  }

  @Override
  public OptionalDouble decodeTokensPerSecond(Release release, VariantEntry entry, String executionProvider, int tokens) {
    InstalledVariant v = hub.pull(release, entry.id(), ProgressListener.NONE);
    SessionSettings s = SessionSettings.EXECUTION_PROVIDERS.contains(executionProvider) ? settings.withExecutionProvider(executionProvider) : settings;
    try (ServableModel model = loader.load(ModelPackage.open(v.packageDir()), s)) {
      ModelLoads.warm(model);
      int first = model.languageModel().tokenizer().bosId().orElse(0);
      GenerationResult r = Generation.stream(model.languageModel(), GenerationRequest.ofIds(first).withMaxTokens(tokens + 1), t -> { });
      double tps = r.timings().decodeTokensPerSecond();
      LOG.info(() -> String.format(java.util.Locale.ROOT, "benchmarked variant %s on this host: %.1f tok/s over %d tokens", entry.id(), tps,
          r.usage().completionTokens()));
      return tps > 0 ? OptionalDouble.of(tps) : OptionalDouble.empty();
    }
  }
}
