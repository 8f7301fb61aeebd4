package dev.edgelm.cli;

import dev.edgelm.compressor.kron.KronOptions;
import dev.edgelm.compressor.kron.KronPreset;
import java.nio.file.Path;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;

/** The options of {@code compress --method kron} (Kronecker factorisation). */
final class KronOptionsMixin {
  @Option(names = "--preset", paramLabel = "NAME",
      description = "kron only: tq-gpt2 (TQCompressedGPT-2's layout) or auto (the same kinds of layer at a kept fraction"
          + " chosen from --target-ratio) (default: tq-gpt2).")
  String preset;

  @Option(names = "--rank", paramLabel = "R",
      description = "kron with tq-gpt2 only: rank of the MLP factors (default: " + KronOptions.DEFAULT_TQ_MLP_RANK + ").")
  Integer rank;

  @Option(names = "--target-ratio", paramLabel = "F",
      description = "kron with auto only: parameters kept as a fraction of the base's (default: "
          + KronOptions.DEFAULT_TARGET_RATIO + ").")
  Double targetRatio;

  @Option(names = "--permutation-iterations", paramLabel = "N",
      description = "kron only: rounds of permutation search per matrix; 0 fits without permutations (default: "
          + KronOptions.DEFAULT_PERMUTATION_ITERATIONS + ").")
  Integer permutationIterations;

  @Option(names = "--refit-steps", paramLabel = "N",
      description = "kron with --calib only: groups of blocks refit one after the other, activations captured again before each"
          + " (default: " + KronOptions.DEFAULT_REFIT_STEPS + ").")
  Integer refitSteps;

  @Option(names = "--layer-report", paramLabel = "FILE",
      description = "kron only: write the per-matrix shapes and errors as Markdown to FILE (and JSON to FILE.json).")
  Path layerReport;

  /** Whether any kron-only option was given. */
  boolean any() {
    return preset != null || rank != null || targetRatio != null || permutationIterations != null || refitSteps != null
        || layerReport != null;
  }

  /** The options these flags describe, checked against each other. */
  KronOptions options(CommandSpec spec, Integer threads, boolean calibrated) {
    KronPreset p;
    try {
      p = preset == null ? KronOptions.DEFAULT_PRESET : KronPreset.fromId(preset);
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--preset must be tq-gpt2 or auto, got '" + preset + "'");
    }
    if (rank != null && p != KronPreset.TQ_GPT2) {
      throw new ParameterException(spec.commandLine(), "--rank applies to --preset tq-gpt2; auto chooses ranks from --target-ratio");
    }
    if (targetRatio != null && p != KronPreset.AUTO) {
      throw new ParameterException(spec.commandLine(), "--target-ratio applies to --preset auto; tq-gpt2 has a fixed layout");
    }
    if (refitSteps != null && !calibrated) {
      throw new ParameterException(spec.commandLine(), "--refit-steps applies to the activation-aware refit; pass --calib FILE");
    }
    KronOptions o = KronOptions.DEFAULTS.withPreset(p);
    try {
      if (rank != null) {
        if (rank < 1) {
          throw new IllegalArgumentException("--rank must be at least 1, got " + rank);
        }
        o = o.withMlpRank(rank);
      }
      if (targetRatio != null) {
        o = o.withTargetRatio(targetRatio);
      }
      if (permutationIterations != null) {
        o = o.withPermutationIterations(permutationIterations);
      }
      if (refitSteps != null) {
        o = o.withRefitSteps(refitSteps);
      }
      if (threads != null) {
        o = o.withThreads(threads);
      }
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), e.getMessage().startsWith("--") ? e.getMessage()
          : "kron option out of range: " + e.getMessage());
    }
    return o;
  }
}
