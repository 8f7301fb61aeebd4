package dev.edgelm.cli;

import dev.edgelm.proto.Units;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "import", description = {
    "Turn a checkpoint into an edgelm model package (fp32 ONNX decoder, tokenizer, variant.json).",
    "SRC is a Hugging Face directory (config.json + model.safetensors, model_type gpt2 or llama) "
        + "or a llama2.c .bin checkpoint."})
final class ImportCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Parameters(index = "0", paramLabel = "SRC", description = "Checkpoint directory or llama2.c .bin file.")
  Path source;

  @Option(names = "--tokenizer", paramLabel = "FILE",
      description = "Tokenizer file (tokenizer.json, vocab.json with merges.txt beside it, or llama2.c tokenizer.bin); "
          + "default: the one in or beside SRC.")
  Path tokenizer;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Package directory to create.")
  Path out;

  @Option(names = "--name", paramLabel = "NAME", description = "Model name recorded in the package (default: SRC's name).")
  String name;

  @Option(names = "--allow-unused", description = "Import even when the checkpoint holds tensors that its configuration "
      + "does not use (they are left out, with a warning naming them); without it that is an error.")
  boolean allowUnused;

  @Option(names = "--force", description = "Replace the package at --out (only an edgelm package is ever replaced).")
  boolean force;

  @Override
  public Integer call() {
    PackageWriter.Target target = new PackageWriter.Target(out, force, Arrays.asList(source, tokenizer)).check();
    ImportedModel imported = CheckpointImporter.importCheckpoint(source, tokenizer, allowUnused);
    if (!imported.unusedTensors().isEmpty()) {
      spec.commandLine().getErr().println("edgelm: warning: left out " + CheckpointImporter.describeUnused(imported.unusedTensors())
          + " of " + source + " that config.json does not use (--allow-unused)");
    }
    VariantDescriptor d = write(imported, name, target);
    spec.commandLine().getErr().printf("imported %s (%s, %,d parameters, %s of weights) into %s%n",
        d.getModel(), d.getArchitecture().getFamily(), d.getParameterCount(), Units.size(d.getWeightBytes()), out);
    return ExitCodes.OK;
  }

  /** Writes an imported checkpoint as its fp32 package. */
  static VariantDescriptor write(ImportedModel imported, String name, PackageWriter.Target target) {
    return PackageWriter.write(imported.ir(), imported.tokenizer(),
        new PackageWriter.Variant("fp32", name != null ? name : imported.name(),
            Method.newBuilder().setName("fp32").build(), imported.sourceDigest()),
        target);
  }
}
