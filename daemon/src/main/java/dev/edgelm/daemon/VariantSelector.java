package dev.edgelm.daemon;

import dev.edgelm.hub.Release;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * Chooses the variant of a release that runs best on a host, from the release index and the
 * variants' configs ({@code variant.json}) only: never weights, unless on-device benchmarking is on.
 *
 * <h2>Model</h2>
 *
 * <ol>
 *   <li><b>Can the host run it?</b> Its execution providers (any one of them present in the ONNX
 *       Runtime build and usable by the engine; none listed means the CPU), its minimum ONNX Runtime
 *       version and opset, its operators (every {@code com.microsoft} contrib operator must have a CPU
 *       kernel in the host's ONNX Runtime version), its required CPU features.
 *   <li><b>Does it fit?</b> weights + KV cache (bytes per token x context x concurrency) + overhead
 *       ({@code select.memory_overhead} + 10 % of the weights) against min(memory budget, usable
 *       memory) — GPU memory for a GPU variant.
 *   <li><b>Is it good enough?</b> A measured perplexity ratio above the quality floor rejects it
 *       (unmeasured quality passes).
 *   <li><b>Rank</b> by predicted batch-1 decode speed: decoding is memory-bandwidth bound, so
 *       seconds/token = bytes read per token (weights + KV at half the context) / (bandwidth x
 *       streaming share x kernel efficiency) + a fixed step cost, the efficiency depending on the
 *       kernel and the CPU's ISA (int8 dot products with VNNI/dotprod, MatMulNBits accuracy level 4…). A published measurement with its host's
 *       bandwidth replaces the model, rescaled by the bandwidth ratio; an on-device benchmark
 *       replaces both. Candidates within {@code speed_tolerance} of the fastest count as equally fast
 *       and the best quality among them wins; then the fastest.
 * </ol>
 *
 * <p>Every verdict carries its reason. Threading: implementations are thread-safe; {@link #select}
 * blocks while it fetches configs (and benchmarks, when on).
 */
public interface VariantSelector {

  /**
   * Selects for {@code host}.
   *
   * @return the selection; {@link Selection#chosen()} is empty when no variant suits the host
   * @throws dev.edgelm.hub.NotFoundException when the policy pins a variant the release does not have
   */
  Selection select(Release release, HostCapabilities host, SelectionPolicy policy);

  static VariantSelector create(Options options) {
    return Implementation.provider().variantSelector(options);
  }

  /** A variant's descriptor without its weights (the hub's {@code details}); empty when it cannot be fetched. */
  @FunctionalInterface
  interface Descriptors {
    Optional<VariantDescriptor> descriptor(Release release, VariantEntry entry);

    Descriptors NONE = (r, e) -> Optional.empty();
  }

  /**
   * Decodes a few tokens with a candidate on this host (after pulling it) and answers tokens per
   * second; empty when it cannot.
   */
  @FunctionalInterface
  interface CandidateBenchmark {
    OptionalDouble decodeTokensPerSecond(Release release, VariantEntry entry, String executionProvider, int tokens);

    CandidateBenchmark NONE = (r, e, ep, n) -> OptionalDouble.empty();
  }

  /**
   * @param descriptors where variant configs come from (read for published speed measurements)
   * @param benchmark on-device benchmarks (used when the policy's {@code benchmarkTop > 0})
   * @param cacheDir where benchmark results are cached per host fingerprint and variant digest, or null
   * @param clock stamps selections and cache entries
   */
  record Options(Descriptors descriptors, CandidateBenchmark benchmark, Path cacheDir, Clock clock) {
    public Options {
      Objects.requireNonNull(descriptors, "descriptors");
      Objects.requireNonNull(benchmark, "benchmark");
      Objects.requireNonNull(clock, "clock");
    }

    /** The index annotations only: no configs, no benchmarks. */
    public static final Options INDEX_ONLY = new Options(Descriptors.NONE, CandidateBenchmark.NONE, null, Clock.systemUTC());

    public Options withDescriptors(Descriptors d) {
      return new Options(d, benchmark, cacheDir, clock);
    }

    public Options withBenchmark(CandidateBenchmark b, Path dir) {
      return new Options(descriptors, b, dir, clock);
    }

    public Options withClock(Clock c) {
      return new Options(descriptors, benchmark, cacheDir, c);
    }
  }
}
