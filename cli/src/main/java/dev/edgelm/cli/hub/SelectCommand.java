package dev.edgelm.cli.hub;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.cli.ExitCodes;
import dev.edgelm.cli.HostFlagsMixin;
import dev.edgelm.daemon.DaemonConfig;
import dev.edgelm.daemon.HostCapabilities;
import dev.edgelm.daemon.HostProbe;
import dev.edgelm.daemon.Selection;
import dev.edgelm.daemon.SelectionPolicy;
import dev.edgelm.daemon.VariantSelector;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "select", mixinStandardHelpOptions = true, description = {
    "Choose the variant of a release that runs best on this host (or on a simulated one), as edgelmd does.",
    "Like edgelmd, it decides before downloading weights: it reads the release index and the variants' configs only. "
        + "Prints the chosen variant id; --explain shows every variant with the reason it was chosen, ranked or rejected. "
        + "Exit status 1 when no variant suits the host."})
public final class SelectCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "REF", description = "HOST[:PORT]/REPO:TAG, HOST/REPO@sha256:..., or oci:PATH:TAG.")
  String reference;

  @Option(names = "--explain", description = "Print every variant's verdict and reason.")
  boolean explain;

  @Option(names = "--json", description = "Print the selection as JSON (edgelm.v1.VariantSelection).")
  boolean json;

  @Option(names = "--model", paramLabel = "NAME", description = "With --config: use models.NAME's concurrency and pinned variant.")
  String model;

  @Option(names = "--variant", paramLabel = "ID", description = "Pin a variant (models.<name>.variant): show how it fares, chosen regardless.")
  String variant;

  @Option(names = "--context", paramLabel = "N", description = "Tokens of context per stream (generation.max_context; default each variant's).")
  Integer context;

  @Option(names = "--concurrency", paramLabel = "N", description = "Streams at once, each with its KV cache (max_concurrent; default 4).")
  Integer concurrency;

  @Option(names = "--memory-budget", paramLabel = "SIZE", description = "The daemon's model memory budget (cache.memory_budget; default 50%%).")
  String memoryBudget;

  @Option(names = "--max-perplexity-ratio", paramLabel = "R", description = "Quality floor (select.max_perplexity_ratio; 0 = none; default "
      + SelectionPolicy.DEFAULT_MAX_PERPLEXITY_RATIO + ").")
  String maxPerplexityRatio;

  @Mixin HostFlagsMixin host;

  @Mixin HubOptionsMixin hub;

  @Override
  public Integer call() throws java.io.IOException {
    Reference ref = Reference.parse(reference);
    Map<String, String> keys = new LinkedHashMap<>();
    if (context != null) {
      keys.put("generation.max_context", context.toString());
    }
    if (concurrency != null) {
      keys.put("generation.max_concurrent", concurrency.toString());
    }
    if (memoryBudget != null) {
      keys.put("cache.memory_budget", memoryBudget);
    }
    if (maxPerplexityRatio != null) {
      keys.put("select.max_perplexity_ratio", maxPerplexityRatio);
    }
    DaemonConfig config = host.load(keys);
    SelectionPolicy policy = policy(config, ref);
    HostCapabilities h = HostProbe.create(config.host().probeOptions()).probe();
    Selection s;
    // select reads the index and configs through a store (which caches them); without one yet it
    // uses a throwaway store rather than create the default one as a side effect of a query.
    Path scratch = hub.readableStore() ? null : Files.createTempDirectory("edgelm-select-");
    try (Hub hb = Hub.open(scratch == null ? hub.toOptions() : hub.toOptions().withStoreDir(scratch))) {
      Release release = hb.resolve(ref);
      VariantSelector selector = VariantSelector.create(VariantSelector.Options.INDEX_ONLY
          .withDescriptors((r, e) -> Optional.of(hb.details(r, e.id()).descriptor())));
      s = selector.select(release, h, policy);
    } finally {
      if (scratch != null) {
        dev.edgelm.compressor.packaging.PackageWriter.deleteRecursively(scratch); // our own temp directory
      }
    }
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (json) {
      out.println(JsonFormat.printer().print(s.toProto()));
    } else if (explain) {
      out.print(s.explain());
    } else {
      s.chosen().ifPresent(c -> {
        out.println(c.id());
        err.println(c.reason());
      });
    }
    out.flush();
    if (s.chosen().isEmpty()) {
      err.println("edgelm: error: " + s.reason().replaceAll("\\s*\\R\\s*", "; ") + (explain || json ? "" : " (see --explain)"));
      err.flush();
      return ExitCodes.FAILURE;
    }
    err.flush();
    return ExitCodes.OK;
  }

  private SelectionPolicy policy(DaemonConfig config, Reference ref) {
    DaemonConfig.Model m = null;
    if (model != null) {
      m = config.models().stream().filter(x -> x.name().equals(model)).findFirst()
          .orElseThrow(() -> new IllegalArgumentException("--model " + model + ": the configuration has no models." + model
              + (config.models().isEmpty() ? " (give --config FILE)" : "; it has " + String.join(", ", config.models().stream().map(DaemonConfig.Model::name).toList()))));
    }
    int maxConcurrent = m != null ? m.maxConcurrent() : config.generation().maxConcurrent();
    String pinned = variant != null ? variant : m != null ? m.variant() : null;
    return config.selectionPolicy(new DaemonConfig.Model(m != null ? m.name() : "select", null, ref, pinned, false, maxConcurrent,
        config.generation().maxQueued(), false));
  }
}
