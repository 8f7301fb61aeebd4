package dev.edgelm.hub;

import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * One variant as the release index describes it: what a host needs to choose a variant without
 * fetching anything else. Parsed from the index entry's annotations ({@link HubFormat}); the raw map
 * is kept for keys this version does not know.
 *
 * @param manifestDigest the variant's image manifest
 * @param downloadBytes sum of the package files' sizes (what a pull downloads at most)
 */
public record VariantEntry(
    String id,
    Digest manifestDigest,
    long manifestSize,
    String method,
    long parameterCount,
    long weightBytes,
    long kvCacheBytesPerToken,
    long downloadBytes,
    OptionalDouble perplexityRatio,
    List<String> onnxOps,
    List<String> cpuFeatures,
    List<String> preferredCpuFeatures,
    List<String> executionProviders,
    Map<String, String> annotations) {

  public VariantEntry {
    onnxOps = List.copyOf(onnxOps);
    cpuFeatures = List.copyOf(cpuFeatures);
    preferredCpuFeatures = List.copyOf(preferredCpuFeatures);
    executionProviders = List.copyOf(executionProviders);
    annotations = Map.copyOf(annotations);
  }
}
