package dev.edgelm.hub;

import dev.edgelm.proto.MethodChains;
import dev.edgelm.proto.v1.Step;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;

/**
 * One variant as the release index describes it: what a host needs to choose a variant without
 * fetching anything else. Parsed once from the index entry's annotations ({@link HubFormat}) into
 * typed fields; the raw map is kept for keys this version does not know.
 *
 * @param manifestDigest the variant's image manifest
 * @param method the method name as the index spells it ({@code int4}, {@code kron,int4})
 * @param chain the compression steps with their typed parameters, from {@link HubFormat#CHAIN} or, in
 *     releases written before it, from the method name and its {@code k=v} parameters
 * @param downloadBytes sum of the package files' sizes (what a pull downloads at most)
 */
public record VariantEntry(
    String id,
    Digest manifestDigest,
    long manifestSize,
    String method,
    List<Step> chain,
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
    chain = List.copyOf(chain);
    onnxOps = List.copyOf(onnxOps);
    cpuFeatures = List.copyOf(cpuFeatures);
    preferredCpuFeatures = List.copyOf(preferredCpuFeatures);
    executionProviders = List.copyOf(executionProviders);
    annotations = Map.copyOf(annotations);
  }

  /** An entry whose chain is read from {@code annotations} the way {@code ReleaseCodec} reads an index entry's. */
  public VariantEntry(String id, Digest manifestDigest, long manifestSize, String method, long parameterCount, long weightBytes,
      long kvCacheBytesPerToken, long downloadBytes, OptionalDouble perplexityRatio, List<String> onnxOps,
      List<String> cpuFeatures, List<String> preferredCpuFeatures, List<String> executionProviders,
      Map<String, String> annotations) {
    this(id, manifestDigest, manifestSize, method, chainFrom(method, annotations), parameterCount, weightBytes,
        kvCacheBytesPerToken, downloadBytes, perplexityRatio, onnxOps, cpuFeatures, preferredCpuFeatures, executionProviders,
        annotations);
  }

  private static List<Step> chainFrom(String method, Map<String, String> annotations) {
    String json = annotations.get(HubFormat.CHAIN);
    return json != null ? MethodChains.parseAnnotation(json)
        : MethodChains.fromLegacy(method, MethodChains.legacyParams(annotations.get(HubFormat.METHOD_PARAMS)));
  }

  /** MatMulNBits' accuracy level of the variant's int4 step, or 0 when it has none. */
  public int int4AccuracyLevel() {
    return MethodChains.int4AccuracyLevel(chain);
  }
}
