package dev.edgelm.cli;

import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(mixinStandardHelpOptions = true, name = "synth", description = {
    "Write a randomly initialised Hugging Face checkpoint of a named shape, with an invented tokenizer.",
    "For benchmarks and tests where real weights are not needed: its text is random."})
final class SynthCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--preset", required = true, description = "Shape: gpt2-small (124M GPT-2), gpt2-tiny, llama-small, llama-tiny, llama-tiny-h16.")
  String preset;

  @Option(names = "--seed", defaultValue = "0", description = "Random seed (default: ${DEFAULT-VALUE}).")
  long seed;

  @Option(names = "--dtype", defaultValue = "F32", description = "Storage type: F32, F16 or BF16 (default: ${DEFAULT-VALUE}).")
  SafetensorsWriter.Dtype dtype;

  @Option(names = "--out", required = true, description = "Directory to create.")
  Path out;

  @Override
  public Integer call() {
    Preset p = Preset.fromId(preset);
    SynthCheckpoint.write(p, seed, dtype, out);
    spec.commandLine().getErr().println("wrote " + p.id() + " checkpoint (random weights, seed " + seed + ") to " + out);
    return ExitCodes.OK;
  }
}
