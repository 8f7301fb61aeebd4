package dev.edgelm.cli;

import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.importer.SafetensorsWriter;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.synth.Preset;
import dev.edgelm.compressor.synth.SynthCheckpoint;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.Generation;
import dev.edgelm.engine.GenerationRequest;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "quickstart", description = {
    "The whole path on one machine: import a checkpoint (or synthesize one) into a package and stream a generation.",
    "Without --model it synthesizes a tiny Llama with random weights, so its text is random."})
final class QuickstartCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", paramLabel = "SRC", description = "Checkpoint to import (HF directory or llama2.c .bin); default: a synthesized model.")
  Path model;

  @Option(names = "--tokenizer", paramLabel = "FILE", description = "Tokenizer for --model, when it is not in or beside it.")
  Path tokenizer;

  @Option(names = "--prompt", defaultValue = "Once upon a time", description = "Prompt (default: ${DEFAULT-VALUE}).")
  String prompt;

  @Option(names = "--max-tokens", defaultValue = "64", description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
  int maxTokens;

  @Option(names = "--work", defaultValue = ".edgelm-quickstart", paramLabel = "DIR",
      description = "Working directory for checkpoints and packages (default: ${DEFAULT-VALUE}).")
  Path work;

  @Override
  public Integer call() {
    PrintWriter err = spec.commandLine().getErr();
    Path source = model;
    if (source == null) {
      source = work.resolve("synth-llama-tiny");
      err.println("No --model given: synthesizing a tiny Llama with random weights. Its text is random;");
      err.println("pass --model with a real checkpoint (e.g. ../shared/models/stories260K/stories260K.bin) for real text.");
      PackageWriter.deleteRecursively(source);
      SynthCheckpoint.write(Preset.LLAMA_TINY, 0, SafetensorsWriter.Dtype.F32, source);
    }
    ImportedModel imported = CheckpointImporter.importCheckpoint(source, tokenizer);
    Path pkg = work.resolve("packages").resolve(imported.name()).resolve("fp32");
    ImportCommand.write(imported, null, pkg, true);
    err.println("imported " + imported.name() + " into " + pkg);
    err.println("prompt: " + prompt);
    err.flush();
    PrintStream out = GenerateCommand.utf8Stdout();
    try (DecoderModel m = DecoderModel.load(ModelPackage.open(pkg), SessionSettings.DEFAULTS)) {
      out.print(prompt);
      Generation.stream(m, GenerationRequest.ofText(prompt).withMaxTokens(maxTokens), text -> {
        out.print(text);
        out.flush();
      });
      out.println();
      out.flush();
    }
    return ExitCodes.OK;
  }
}
