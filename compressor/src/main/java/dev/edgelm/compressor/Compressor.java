package dev.edgelm.compressor;

import dev.edgelm.compressor.calib.CalibrationText;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.packaging.PackageReader;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;

/**
 * The compressor's one entry point: a variant is a base package plus a chain of {@link Method}s.
 *
 * <p>The chain is checked before anything slow (each step against the ones before it, calibration
 * text present where a step needs it, the output location); then the base is read, each step runs
 * on the model the previous one returned (a step that calibrates runs the text through that
 * model, so it sees the earlier steps' error), and the result is written as one package, all or
 * nothing. The descriptor records every step ({@code chain}) and, for readers of the format
 * before chains, the whole as one {@code method}.
 *
 * <p>Thread-safe: every call owns its state and worker threads.
 */
public final class Compressor {
  private Compressor() {}

  /**
   * What {@link #compress} wrote.
   *
   * @param descriptor the package's {@code variant.json}
   * @param steps each step's result, in order
   * @param baseDescriptor the base package's descriptor (for summaries against it)
   */
  public record Compressed(VariantDescriptor descriptor, List<StepResult> steps, VariantDescriptor baseDescriptor) {}

  /**
   * Makes the variant {@code job} describes by running {@code chain} on its base.
   *
   * @param progress receives one line per stage (calibration batches, matrices, layers)
   * @throws UsageException for an empty chain, a step that cannot follow the previous one, missing
   *     or unused calibration text, a model a step cannot take, or an output that may not be written
   * @throws CheckpointException when the base package or the calibration text is unusable
   * @throws OutputException when calibration or writing fails
   */
  public static Compressed compress(VariantJob job, List<Method> chain, Consumer<String> progress) {
    check(job, chain);
    PackageWriter.Target target = job.target().check(); // before anything slow
    PackageReader.BasePackage base = PackageReader.read(job.base());
    CalibrationText text = null;
    if (job.calibrationText() != null) {
      text = CalibrationText.forPackage(base, job.calibrationText(), job.calibration());
      progress.accept("calibration text: " + text.describe());
    }
    StepContext context = new StepContext(text, job.calibration(), progress, base, job.out());
    ModelIr model = base.ir();
    List<StepResult> results = new ArrayList<>();
    for (Method m : chain) {
      if (chain.size() > 1) {
        progress.accept("step " + (results.size() + 1) + "/" + chain.size() + ": " + m.name());
      }
      StepResult r = m.apply(model, context);
      results.add(r);
      model = r.model();
    }
    VariantDescriptor d = base.descriptor();
    String id = job.variantId() != null ? job.variantId() : defaultId(chain, text != null);
    LinkedHashSet<String> preferred = new LinkedHashSet<>();
    results.forEach(r -> preferred.addAll(r.preferredCpuFeatures()));
    VariantDescriptor written = PackageWriter.write(model, base.tokenizer(),
        new PackageWriter.Variant(id, d.getModel(), legacyMethod(results), d.getBaseModelDigest(), List.copyOf(preferred),
            results.stream().map(StepResult::step).toList()),
        target);
    for (StepResult r : results) {
      for (StepResult.SideFile f : r.files()) {
        try {
          Files.writeString(f.path(), f.content(), StandardCharsets.UTF_8);
        } catch (IOException e) {
          throw new OutputException("wrote the package, but cannot write " + f.path() + ": " + e.getMessage(), e);
        }
      }
    }
    return new Compressed(written, List.copyOf(results), d);
  }

  /** The checks that need no model: the chain's order and calibration. */
  static void check(VariantJob job, List<Method> chain) {
    if (chain.isEmpty()) {
      throw new UsageException("no method given; name one or a chain, e.g. int4 or kron,int4");
    }
    for (int i = 0; i < chain.size(); i++) {
      String why = chain.get(i).cannotFollow(chain.subList(0, i));
      if (why != null) {
        throw new UsageException("method " + MethodChain.name(chain) + ": " + why);
      }
    }
    if (job.calibrationText() == null) {
      for (Method m : chain) {
        String missing = m.calibrationMissing();
        if (missing != null) {
          throw new UsageException(missing);
        }
      }
    } else if (chain.stream().noneMatch(Method::usesCalibration)) {
      throw new UsageException("--calib is used by --algo scale and gptq, and by kron's refit; method "
          + MethodChain.name(chain) + " does not use it: drop it or choose one of them");
    }
  }

  /** E.g. {@code int4-g32-rtn}, or for a chain {@code kron-tq-gpt2-int4-g32-rtn}. */
  static String defaultId(List<Method> chain, boolean calibrated) {
    List<String> parts = new ArrayList<>();
    for (Method m : chain) {
      parts.add(m.idPart(calibrated && m.usesCalibration()));
    }
    return String.join("-", parts);
  }

  /** One step: its own method; a chain: name {@code kron,int4} and every step's parameters under {@code <step>.}. */
  static dev.edgelm.proto.v1.Method legacyMethod(List<StepResult> results) {
    if (results.size() == 1) {
      return results.get(0).legacy();
    }
    dev.edgelm.proto.v1.Method.Builder m = dev.edgelm.proto.v1.Method.newBuilder();
    List<String> names = new ArrayList<>();
    for (StepResult r : results) {
      names.add(r.legacy().getName());
      for (Map.Entry<String, String> p : new TreeMap<>(r.legacy().getParamsMap()).entrySet()) {
        m.putParams(r.legacy().getName() + "." + p.getKey(), p.getValue());
      }
    }
    return m.setName(String.join(",", names)).build();
  }
}
