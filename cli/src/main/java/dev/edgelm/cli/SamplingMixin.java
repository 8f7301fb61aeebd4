package dev.edgelm.cli;

import dev.edgelm.engine.SamplingOptions;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import picocli.CommandLine.Option;

/** The generation options shared by local and remote generation. */
final class SamplingMixin {
  @Option(names = "--max-tokens", defaultValue = "128", description = "Most tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--temperature", defaultValue = "0", description = "Sampling temperature; 0 is greedy (default: ${DEFAULT-VALUE}).")
  float temperature;

  @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 keeps all (default: ${DEFAULT-VALUE}).")
  int topK;

  @Option(names = "--top-p", defaultValue = "1", description = "Nucleus sampling mass in (0, 1]; 1 keeps all (default: ${DEFAULT-VALUE}).")
  float topP;

  @Option(names = "--repetition-penalty", defaultValue = "1", description = "Penalty for tokens already seen; 1 is none (default: ${DEFAULT-VALUE}).")
  float repetitionPenalty;

  @Option(names = "--seed", description = "Seed for sampling (default: random).")
  Long seed;

  @Option(names = "--stop", paramLabel = "STR", description = "Stop before this string (repeatable).")
  List<String> stop = new ArrayList<>();

  /** {@code --max-tokens}, at least 1 here and with --remote alike (the daemon would read 0 as its own default). */
  int maxTokens() {
    if (maxTokens < 1) {
      throw new IllegalArgumentException("--max-tokens must be at least 1, got " + maxTokens);
    }
    return maxTokens;
  }

  SamplingOptions sampling() {
    return new SamplingOptions(temperature, topK, topP, repetitionPenalty,
        seed == null ? OptionalLong.empty() : OptionalLong.of(seed), 0, false); // generate prints text, never log-probabilities
  }
}
