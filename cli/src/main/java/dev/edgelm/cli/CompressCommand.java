package dev.edgelm.cli;

import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.MethodChain;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.calib.CalibrationOptions;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "compress", description = {
    "Make a compressed variant of an fp32 package (made by 'edgelm import') with one method or a chain of them.",
    "int8: symmetric per-channel weights, activations quantized at run time (DynamicQuantizeMatMul). "
        + "int4: 4-bit blocks of --group-size inputs with a scale and zero point each (MatMulNBits). "
        + "The token embedding is stored once, quantized, and serves both the lookup and a tied head.",
    "--algo rtn rounds to nearest; scale picks, per module, the clipping of the weight range with the least "
        + "output error on calibration activations; gptq feeds rounding errors back through the calibration Hessian. "
        + "scale and gptq need --calib FILE: text like what the model will see, and not the text you evaluate on.",
    "kron: Kronecker-factored layers P(sum_r A_r (x) B_r)Q with permutation search (TQCompressor); --preset tq-gpt2 "
        + "or auto; with --calib the factors are refit on calibration activations, block group by block group.",
    "prune: removes attention heads (a KV head with its query heads, or --head-group query) and blocks of --ffn-block "
        + "FFN channels (--granularity heads|ffn|both) chosen by reweighted group lasso on each layer's reconstruction "
        + "(calibrated layer by layer on the already-pruned prefix), refits the survivors by least squares; the layers "
        + "become narrower. --target-ratio counts the blocks' linear parameters; embeddings and head are excluded. "
        + "Needs --calib; put it first in a chain, e.g. prune,int4.",
    "subspace: a smaller hidden size (TCSP): the norms folded exactly into a rotation-invariant form, then one "
        + "projection onto the top eigenvectors of the calibration features; --target-ratio is the fraction of the "
        + "hidden size to remove (or --hidden K), K rounded to a multiple of 16. Needs --calib; after prune, before "
        + "quantization, e.g. subspace,int4.",
    "Chains: --method kron,int4 runs kron, then quantizes its factor matrices and the layers it left dense; a later "
        + "step calibrates on the model the earlier ones made. An option goes to the step that takes it; where two steps "
        + "take the same option, prefix it with the step: --int4.group-size 64."})
final class CompressCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "fp32 model package.")
  Path model;

  @Option(names = "--method", required = true, paramLabel = "CHAIN",
      description = "A method or a chain of them, in order: int8, int4, kron, prune, subspace, e.g. kron,int4 or prune,int4.")
  String method;

  @Option(names = "--calib", paramLabel = "FILE",
      description = "Calibration text (UTF-8) for --algo scale or gptq, for kron's activation-aware refit, or for prune.")
  Path calib;

  @Option(names = "--calib-sequences", defaultValue = "" + CalibrationOptions.DEFAULT_SEQUENCES,
      description = "Sequences taken from --calib, spread evenly over it (default: ${DEFAULT-VALUE}).")
  int calibSequences;

  @Option(names = "--calib-length", defaultValue = "" + CalibrationOptions.DEFAULT_SEQUENCE_LENGTH,
      description = "Tokens per calibration sequence, capped at the model's context (default: ${DEFAULT-VALUE}).")
  int calibLength;

  @Option(names = "--threads", description = "Worker threads (default: the number of cores).")
  Integer threads;

  @Option(names = "--id", description = "Variant id (default: from the chain, e.g. int8, int4-g32-gptq, kron-tq-gpt2-int4-g32-rtn).")
  String id;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Package directory to create.")
  Path out;

  @Option(names = "--force", description = "Replace the package at --out (only an edgelm package is ever replaced).")
  boolean force;

  /**
   * Adds every method's options ({@link Method#KINDS}) to the command, so none is listed here: each
   * also under a hidden {@code --<step>.<option>} spelling for chains whose steps share a name.
   */
  static void addMethodOptions(CommandSpec spec) {
    // An option two methods share (kron's and prune's --target-ratio) is listed once with each one's line.
    Map<String, List<String>> descriptions = new LinkedHashMap<>();
    Map<String, Method.OptionSpec> first = new LinkedHashMap<>();
    for (Method.Kind kind : Method.KINDS) {
      for (Method.OptionSpec o : kind.options()) {
        first.putIfAbsent(o.name(), o);
        descriptions.computeIfAbsent(o.name(), n -> new java.util.ArrayList<>()).add(o.description());
      }
    }
    for (Map.Entry<String, Method.OptionSpec> e : first.entrySet()) {
      if (spec.findOption("--" + e.getKey()) == null) {
        spec.addOption(option("--" + e.getKey(), e.getValue(), false, descriptions.get(e.getKey())));
      }
    }
    for (Method.Kind kind : Method.KINDS) {
      for (Method.OptionSpec o : kind.options()) {
        for (String step : kind.names()) {
          spec.addOption(option("--" + step + "." + o.name(), o, true, List.of(o.description())));
        }
      }
    }
  }

  private static OptionSpec option(String name, Method.OptionSpec o, boolean hidden, List<String> description) {
    OptionSpec.Builder b = OptionSpec.builder(name).description(description.toArray(String[]::new)).hidden(hidden);
    return (o.flag() ? b.type(boolean.class).arity("0") : b.type(String.class).paramLabel(o.label())).build();
  }

  @Override
  public Integer call() {
    int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    List<Method> chain = MethodChain.parse(method, methodOptions(spec), "--", workers, calib != null);
    CalibrationOptions calibration = CalibrationOptions.DEFAULTS
        .withSequences(calibSequences).withSequenceLength(calibLength).withThreads(workers);
    PrintWriter err = spec.commandLine().getErr();
    long start = System.nanoTime();
    Compressor.Compressed c = Compressor.compress(new VariantJob(model, out, id, force, calib, calibration), chain, line -> {
      err.println(line);
      err.flush();
    });
    err.println(CompressionSummary.line(c, out, (System.nanoTime() - start) / 1e9));
    err.flush();
    return ExitCodes.OK;
  }

  /** The method options given on the command line, by name without dashes ({@code "true"} for flags). */
  static Map<String, String> methodOptions(CommandSpec spec) {
    java.util.Set<String> names = new java.util.HashSet<>(MethodChain.knownOptions());
    Map<String, String> given = new LinkedHashMap<>();
    for (OptionSpec o : spec.commandLine().getParseResult().matchedOptions()) {
      String key = o.longestName().substring(2);
      String bare = key.contains(".") ? key.substring(key.indexOf('.') + 1) : key;
      if (names.contains(bare)) {
        given.put(key, String.valueOf((Object) o.getValue()));
      }
    }
    return given;
  }
}
