package dev.edgelm.daemon.internal.select;

import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import java.util.ArrayList;
import java.util.List;

/**
 * The {@link VariantSelector}: assesses every variant of a release against the host ({@link HostChecks}: can it run,
 * does it fit, is it good enough), predicts the speed of those that pass ({@link SpeedEstimates}: the bandwidth model,
 * refined by published measurements and optional on-device benchmarks), ranks them and words a reason for each verdict
 * ({@link Verdicts}). See {@link VariantSelector} for the model.
 *
 * <p>Threading: thread-safe (no mutable state but the benchmark cache, which locks).
 */
public final class DefaultVariantSelector implements VariantSelector {
  private final Options options;
  private final SpeedEstimates speeds;

  public DefaultVariantSelector(Options options) {
    this.options = options;
    this.speeds = new SpeedEstimates(options);
  }

  @Override
  public Selection select(Release release, HostCapabilities host, SelectionPolicy policy) {
    String pinned = policy.pinnedVariant();
    if (pinned != null && release.variant(pinned).isEmpty()) {
      throw new NotFoundException("release " + release.reference() + " has no variant '" + pinned + "' (it has "
          + String.join(", ", release.variantIds()) + "); pin one of those, or unpin it to select automatically");
    }
    long usable = host.memory().usableBytes() > 0 ? host.memory().usableBytes() : Long.MAX_VALUE;
    long budget = Math.min(policy.memoryBudgetBytes(), usable);
    String budgetWhy = HostChecks.budgetWhy(host, policy, budget);
    List<Assessment> all = new ArrayList<>();
    for (VariantEntry e : release.variants()) {
      Assessment a = new Assessment(e);
      a.kernel = DecodeSpeedModel.kernelOf(e.method(), e.onnxOps());
      HostChecks.check(a, host, policy, budget, budgetWhy);
      SpeedEstimates.predict(a, host);
      all.add(a);
    }
    for (Assessment a : all) {
      if (a.feasible() || a.entry.id().equals(pinned)) {
        speeds.refineWithDescriptor(release, a, host, policy);
      }
    }
    List<Assessment> ranked = Verdicts.rank(all.stream().filter(Assessment::feasible).toList(), policy);
    if (pinned == null && policy.benchmarkTop() > 0 && ranked.size() > 1) {
      speeds.benchmark(release, ranked, Math.min(policy.benchmarkTop(), ranked.size()), host, policy);
      ranked = Verdicts.rank(ranked, policy);
    }
    return Verdicts.verdicts(release, host, policy, budget, all, ranked, pinned, options.clock().instant());
  }
}
