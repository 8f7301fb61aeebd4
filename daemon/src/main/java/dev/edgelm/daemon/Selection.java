package dev.edgelm.daemon;

import dev.edgelm.proto.Units;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.Reference;
import dev.edgelm.proto.v1.SelectionPolicyInfo;
import dev.edgelm.proto.v1.VariantOutcome;
import dev.edgelm.proto.v1.VariantSelection;
import dev.edgelm.proto.v1.VariantVerdict;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalDouble;

/**
 * A variant selection: which variant of a release this host runs, and for every variant why it was
 * chosen, ranked or rejected. Made by {@link VariantSelector} from the release index and variant
 * configs only.
 *
 * @param verdicts every variant: the chosen one first, then the other candidates by rank, then the
 *     rejected ones
 * @param reason one line: why the chosen variant, or why none
 */
public record Selection(
    Reference reference,
    Digest indexDigest,
    List<Verdict> verdicts,
    boolean pinned,
    String reason,
    HostCapabilities host,
    SelectionPolicy policy,
    long memoryBudgetBytes,
    Instant selectedAt) {

  public Selection {
    Objects.requireNonNull(reference, "reference");
    Objects.requireNonNull(indexDigest, "indexDigest");
    verdicts = List.copyOf(verdicts);
    Objects.requireNonNull(reason, "reason");
    Objects.requireNonNull(host, "host");
    Objects.requireNonNull(policy, "policy");
    Objects.requireNonNull(selectedAt, "selectedAt");
  }

  /** How one variant fared. */
  public enum Outcome { CHOSEN, CANDIDATE, REJECTED }

  /**
   * One variant's verdict.
   *
   * @param rank 1 for the chosen variant, 2… for the other candidates; 0 when rejected
   * @param failedChecks every check the variant failed (or, pinned, would have failed)
   * @param predictedTokensPerSecond batch-1 decode speed predicted (or measured) here; 0 when rejected
   *     before ranking
   * @param speedBasis "bandwidth model", "descriptor measurement rescaled by bandwidth" or "measured on this host"
   * @param memoryRequiredBytes weights + KV cache at the served context and concurrency + overhead
   * @param executionProvider where it would run ("cpu", "cuda", …)
   */
  public record Verdict(
      String id,
      Digest manifestDigest,
      String method,
      Outcome outcome,
      int rank,
      String reason,
      List<String> failedChecks,
      double predictedTokensPerSecond,
      String speedBasis,
      long memoryRequiredBytes,
      String executionProvider,
      OptionalDouble perplexityRatio,
      long downloadBytes) {
    public Verdict {
      failedChecks = List.copyOf(failedChecks);
    }

    VariantVerdict toProto() {
      VariantVerdict.Builder b = VariantVerdict.newBuilder()
          .setId(id)
          .setManifestDigest(manifestDigest.toString())
          .setMethod(method)
          .setOutcome(switch (outcome) {
            case CHOSEN -> VariantOutcome.VARIANT_OUTCOME_CHOSEN;
            case CANDIDATE -> VariantOutcome.VARIANT_OUTCOME_CANDIDATE;
            case REJECTED -> VariantOutcome.VARIANT_OUTCOME_REJECTED;
          })
          .setRank(rank)
          .setReason(reason)
          .addAllFailedChecks(failedChecks)
          .setPredictedTokensPerSecond(predictedTokensPerSecond)
          .setSpeedBasis(speedBasis)
          .setMemoryRequiredBytes(memoryRequiredBytes)
          .setExecutionProvider(executionProvider)
          .setDownloadBytes(downloadBytes);
      perplexityRatio.ifPresent(b::setPerplexityRatio);
      return b.build();
    }
  }

  /** The chosen variant; empty when none suits the host. */
  public Optional<Verdict> chosen() {
    return verdicts.stream().filter(v -> v.outcome() == Outcome.CHOSEN).findFirst();
  }

  public Optional<Verdict> verdict(String id) {
    return verdicts.stream().filter(v -> v.id().equals(id)).findFirst();
  }

  /**
   * The {@link NoSuitableVariantException} to raise when nothing was chosen, naming each variant's
   * reason; null when a variant was chosen.
   */
  public NoSuitableVariantException failure() {
    return chosen().isPresent() ? null : new NoSuitableVariantException(reason);
  }

  /** The wire form (Models.Describe, {@code edgelm select --json}). */
  public VariantSelection toProto() {
    VariantSelection.Builder b = VariantSelection.newBuilder()
        .setReference(reference.toString())
        .setIndexDigest(indexDigest.toString())
        .setReason(reason)
        .setPinned(pinned)
        .setHost(host.toProto())
        .setPolicy(SelectionPolicyInfo.newBuilder()
            .setContextTokens(policy.contextTokens())
            .setConcurrency(policy.concurrency())
            .setMemoryBudgetBytes(memoryBudgetBytes)
            .setMemoryOverheadBytes(policy.memoryOverheadBytes())
            .setMaxPerplexityRatio(policy.maxPerplexityRatio())
            .setPinnedVariant(policy.pinnedVariant() == null ? "" : policy.pinnedVariant())
            .setSpeedTolerance(policy.speedTolerance())
            .setBenchmarkTop(policy.benchmarkTop()))
        .setSelectedAtUnixMs(selectedAt.toEpochMilli());
    chosen().ifPresent(c -> b.setChosen(c.id()).setChosenManifestDigest(c.manifestDigest().toString()));
    for (Verdict v : verdicts) {
      b.addVariants(v.toProto());
    }
    return b.build();
  }

  /** A table for people ({@code edgelm select --explain}, logs). */
  public String explain() {
    StringBuilder s = new StringBuilder();
    s.append("release ").append(reference).append(" (").append(shortDigest(indexDigest.toString())).append("), ").append(verdicts.size())
        .append(verdicts.size() == 1 ? " variant\n" : " variants\n");
    s.append("host    ").append(describeHost()).append('\n');
    s.append("policy  ").append(describePolicy()).append('\n');
    s.append(chosen().isPresent() ? "chosen  " + chosen().get().id() + ": " : "chosen  none: ").append(reason).append("\n\n");
    int idWidth = Math.max(7, verdicts.stream().mapToInt(v -> v.id().length()).max().orElse(7));
    s.append(String.format(Locale.ROOT, "  %-4s %-" + idWidth + "s  %-9s  %12s  %10s  %s%n", "rank", "variant", "outcome", "tokens/s", "memory",
        "reason"));
    for (Verdict v : verdicts) {
      s.append(String.format(Locale.ROOT, "  %-4s %-" + idWidth + "s  %-9s  %12s  %10s  %s%n",
          v.rank() > 0 ? "#" + v.rank() : "-", v.id(), v.outcome().name().toLowerCase(Locale.ROOT),
          v.predictedTokensPerSecond() > 0 ? String.format(Locale.ROOT, "%.1f", v.predictedTokensPerSecond()) : "-",
          v.memoryRequiredBytes() > 0 ? Units.size(v.memoryRequiredBytes()) : "-", v.reason()));
    }
    return s.toString();
  }

  private String describeHost() {
    StringBuilder s = new StringBuilder();
    s.append(host.arch()).append(", ").append(host.cores()).append(host.cores() == 1 ? " core" : " cores");
    List<String> isa = host.cpuFeatures().stream().filter(f -> f.contains("vnni") || f.equals("avx2") || f.equals("avx512f")
        || f.startsWith("amx") || f.equals("dotprod") || f.equals("i8mm") || f.equals("sve") || f.equals("asimd")).sorted().toList();
    s.append(isa.isEmpty() ? "" : " (" + String.join(" ", isa) + ")");
    s.append(", usable memory ").append(Units.size(host.memory().usableBytes()));
    s.append(String.format(Locale.ROOT, ", bandwidth %.1f GB/s (%s)", host.memoryBandwidth().bytesPerSecond() / 1e9,
        host.memoryBandwidth().source()));
    s.append(", ONNX Runtime ").append(host.onnxRuntime().version()).append(" [").append(String.join(",", host.onnxRuntime().executionProviders()))
        .append(']');
    if (!host.gpus().isEmpty()) {
      s.append(", GPU ").append(Units.size(host.gpuMemoryFreeBytes())).append(" free");
    }
    if (!host.overridden().isEmpty()) {
      s.append("; overridden: ").append(String.join(", ", new java.util.TreeSet<>(host.overridden().keySet())));
    }
    return s.toString();
  }

  private String describePolicy() {
    return "budget " + Units.size(memoryBudgetBytes) + ", context " + (policy.contextTokens() == 0 ? "each variant's" : policy.contextTokens())
        + " x " + policy.concurrency() + (policy.concurrency() == 1 ? " stream" : " streams")
        + (policy.maxPerplexityRatio() > 0 ? ", max perplexity ratio " + policy.maxPerplexityRatio() : ", no quality floor")
        + (policy.pinnedVariant() != null ? ", pinned to " + policy.pinnedVariant() : "");
  }

  static String shortDigest(String digest) {
    int colon = digest.indexOf(':');
    return digest.length() > colon + 13 ? digest.substring(0, colon + 13) + "…" : digest;
  }
}
