package dev.edgelm.cli;

import dev.edgelm.proto.Units;
import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.kron.KronOptions;
import dev.edgelm.compressor.kron.KroneckerCompressor;
import dev.edgelm.compressor.quant.Algorithm;
import dev.edgelm.compressor.quant.ClipScope;
import dev.edgelm.compressor.quant.Precision;
import dev.edgelm.compressor.quant.QuantizationOptions;
import dev.edgelm.compressor.quant.Quantizer;
import dev.edgelm.compressor.report.VariantReport;
import dev.edgelm.proto.v1.VariantDescriptor;
import dev.edgelm.engine.ModelPackage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(mixinStandardHelpOptions = true, name = "compress", description = {
    "Make a quantized or Kronecker-factored variant of an fp32 package (made by 'edgelm import').",
    "int8: symmetric per-channel weights, activations quantized at run time (DynamicQuantizeMatMul). "
        + "int4: 4-bit blocks of --group-size inputs with a scale and zero point each (MatMulNBits). "
        + "The token embedding is stored once, quantized, and serves both the lookup and a tied head.",
    "--algo rtn rounds to nearest; scale picks, per module, the clipping of the weight range with the least "
        + "output error on calibration activations; gptq feeds rounding errors back through the calibration Hessian. "
        + "scale and gptq need --calib FILE: text like what the model will see, and not the text you evaluate on.",
    "kron: Kronecker-factored layers P(sum_r A_r (x) B_r)Q with permutation search (TQCompressor); --preset tq-gpt2 "
        + "or auto; with --calib the factors are refit on calibration activations, block group by block group."})
final class CompressCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--model", required = true, paramLabel = "DIR", description = "fp32 model package.")
  Path model;

  @Option(names = "--method", required = true, description = "int8, int4 or kron.")
  String method;

  @Mixin KronOptionsMixin kron;

  @Option(names = "--group-size", paramLabel = "N",
      description = "int4 only: inputs per block, 32, 64 or 128 (default: " + QuantizationOptions.DEFAULT_GROUP_SIZE + ").")
  Integer groupSize;

  @Option(names = "--algo", defaultValue = "rtn", description = "rtn, scale or gptq (default: ${DEFAULT-VALUE}).")
  String algo;

  @Option(names = "--calib", paramLabel = "FILE",
      description = "Calibration text (UTF-8) for --algo scale or gptq, or for kron's activation-aware refit.")
  Path calib;

  @Option(names = "--calib-sequences", defaultValue = "" + CalibrationOptions.DEFAULT_SEQUENCES,
      description = "Sequences taken from --calib, spread evenly over it (default: ${DEFAULT-VALUE}).")
  int calibSequences;

  @Option(names = "--calib-length", defaultValue = "" + CalibrationOptions.DEFAULT_SEQUENCE_LENGTH,
      description = "Tokens per calibration sequence, capped at the model's context (default: ${DEFAULT-VALUE}).")
  int calibLength;

  @Option(names = "--calib-sample-rows", defaultValue = "" + CalibrationOptions.DEFAULT_SAMPLE_ROWS,
      description = "--algo scale: activation rows sampled per module to measure output error on (default: ${DEFAULT-VALUE}).")
  int sampleRows;

  @Option(names = "--clip-scope", paramLabel = "SCOPE",
      description = "scale only: one clipping ratio per 'module' (as in the paper) or per output 'channel' (default: channel).")
  String clipScope;

  @Option(names = "--accuracy-level", paramLabel = "N",
      description = "int4 only: MatMulNBits accuracy_level 0-4; 4 computes with int8 activations, the fast CPU path (default: "
          + QuantizationOptions.DEFAULT_ACCURACY_LEVEL + ").")
  Integer accuracyLevel;

  @Option(names = "--act-order", description = "gptq only: quantize inputs by decreasing Hessian diagonal.")
  boolean actOrder;

  @Option(names = "--damping", paramLabel = "F", description = "gptq only: damping as a fraction of the mean Hessian diagonal (default: "
      + QuantizationOptions.DEFAULT_DAMPING + ").")
  Double damping;

  @Option(names = "--threads", description = "Worker threads (default: the number of cores).")
  Integer threads;

  @Option(names = "--id", description = "Variant id (default: int8, int8-<algo>, or int4-g<N>-<algo>).")
  String id;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Package directory to create.")
  Path out;

  @Option(names = "--force", description = "Replace the package at --out (only an edgelm package is ever replaced).")
  boolean force;

  @Override
  public Integer call() {
    if (method.equalsIgnoreCase("kron")) {
      return callKron();
    }
    if (kron.any()) {
      throw new ParameterException(spec.commandLine(),
          "--preset, --rank, --target-ratio, --permutation-iterations, --refit-steps and --layer-report apply to --method kron");
    }
    QuantizationOptions options = options();
    CalibrationOptions calibration = CalibrationOptions.DEFAULTS
        .withSequences(calibSequences).withSequenceLength(calibLength).withSampleRows(sampleRows)
        .withThreads(options.threads());
    PrintWriter err = spec.commandLine().getErr();
    long start = System.nanoTime();
    VariantDescriptor d = Quantizer.quantizePackage(
        new Quantizer.PackageRequest(model, out, id, force, calib, calibration), options, line -> {
          err.println(line);
          err.flush();
        });
    long variantBytes = VariantReport.packageBytes(d);
    long baseBytes = VariantReport.packageBytes(ModelPackage.open(model).descriptor());
    err.printf(Locale.ROOT, "wrote %s to %s in %.1f s: %s (%.3fx the fp32 package's %s)%n", d.getId(), out,
        (System.nanoTime() - start) / 1e9, Units.size(variantBytes), (double) variantBytes / baseBytes, Units.size(baseBytes));
    err.flush();
    return ExitCodes.OK;
  }

  private Integer callKron() {
    for (String quantOnly : new String[] {"--group-size", "--algo", "--calib-sample-rows", "--clip-scope", "--accuracy-level",
        "--act-order", "--damping"}) {
      if (spec.commandLine().getParseResult().hasMatchedOption(quantOnly)) {
        throw new ParameterException(spec.commandLine(), quantOnly + " applies to int8/int4, not to --method kron");
      }
    }
    KronOptions options = kron.options(spec, threads, calib != null);
    CalibrationOptions calibration = CalibrationOptions.DEFAULTS
        .withSequences(calibSequences).withSequenceLength(calibLength).withThreads(options.threads());
    PrintWriter err = spec.commandLine().getErr();
    long start = System.nanoTime();
    KroneckerCompressor.Written w = KroneckerCompressor.compressPackage(
        new KroneckerCompressor.PackageRequest(model, out, id, force, calib, calibration), options, line -> {
          err.println(line);
          err.flush();
        });
    if (kron.layerReport != null) {
      try {
        Files.writeString(kron.layerReport, w.report().toMarkdown(), StandardCharsets.UTF_8);
        Files.writeString(kron.layerReport.resolveSibling(kron.layerReport.getFileName() + ".json"), w.report().toJson(),
            StandardCharsets.UTF_8);
      } catch (IOException e) {
        throw new ParameterException(spec.commandLine(), "cannot write --layer-report " + kron.layerReport + ": " + e.getMessage());
      }
    }
    VariantDescriptor d = w.descriptor();
    long variantBytes = VariantReport.packageBytes(d);
    long baseBytes = VariantReport.packageBytes(ModelPackage.open(model).descriptor());
    err.printf(Locale.ROOT, "wrote %s to %s in %.1f s: %,d parameters (%.4f of the base), %s (%.3fx the fp32 package's %s)%n",
        d.getId(), out, (System.nanoTime() - start) / 1e9, d.getParameterCount(), w.report().plan().ratio(),
        Units.size(variantBytes), (double) variantBytes / baseBytes, Units.size(baseBytes));
    err.flush();
    return ExitCodes.OK;
  }

  private QuantizationOptions options() {
    Precision precision = switch (method.toLowerCase(Locale.ROOT)) {
      case "int8" -> Precision.INT8;
      case "int4" -> Precision.INT4;
      default -> throw new ParameterException(spec.commandLine(), "--method must be int8, int4 or kron, got '" + method + "'");
    };
    Algorithm algorithm;
    try {
      algorithm = Algorithm.valueOf(algo.toUpperCase(Locale.ROOT));
    } catch (IllegalArgumentException e) {
      throw new ParameterException(spec.commandLine(), "--algo must be rtn, scale or gptq, got '" + algo + "'");
    }
    if (precision == Precision.INT8 && groupSize != null) {
      throw new ParameterException(spec.commandLine(), "--group-size applies to int4; int8 has one scale per output channel");
    }
    if (precision == Precision.INT8 && accuracyLevel != null) {
      throw new ParameterException(spec.commandLine(), "--accuracy-level applies to int4 (MatMulNBits); int8 always computes in int8");
    }
    if (algorithm != Algorithm.GPTQ && (actOrder || damping != null)) {
      throw new ParameterException(spec.commandLine(), "--act-order and --damping apply to --algo gptq");
    }
    if (algorithm != Algorithm.SCALE && clipScope != null) {
      throw new ParameterException(spec.commandLine(), "--clip-scope applies to --algo scale");
    }
    QuantizationOptions o = precision == Precision.INT8
        ? QuantizationOptions.int8(algorithm)
        : QuantizationOptions.int4(groupSize != null ? groupSize : QuantizationOptions.DEFAULT_GROUP_SIZE, algorithm);
    if (accuracyLevel != null) {
      o = o.withAccuracyLevel(accuracyLevel);
    }
    if (clipScope != null) {
      try {
        o = o.withClipScope(ClipScope.valueOf(clipScope.toUpperCase(Locale.ROOT)));
      } catch (IllegalArgumentException e) {
        throw new ParameterException(spec.commandLine(), "--clip-scope must be module or channel, got '" + clipScope + "'");
      }
    }
    if (damping != null) {
      o = o.withDamping(damping);
    }
    if (threads != null) {
      o = o.withThreads(threads);
    }
    return o.withActOrder(actOrder);
  }
}
