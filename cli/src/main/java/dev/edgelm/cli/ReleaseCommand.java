package dev.edgelm.cli;

import dev.edgelm.cli.hub.PublishCommand;
import dev.edgelm.cli.hub.RegistryOptionsMixin;
import dev.edgelm.cli.hub.StoreOptionMixin;
import dev.edgelm.cli.release.Recipe;
import dev.edgelm.compressor.Compressor;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.MethodChain;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.calib.CalibrationOptions;
import dev.edgelm.compressor.importer.CheckpointImporter;
import dev.edgelm.compressor.importer.Digests;
import dev.edgelm.compressor.importer.ImportedModel;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.compressor.report.DecodeSpeed;
import dev.edgelm.compressor.report.VariantReport;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.SigningKeys;
import dev.edgelm.proto.EdgelmVersion;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A whole release from one recipe: import the base (if it is a checkpoint), build every variant
 * whose inputs changed (reusing the others), report all of them against the base, publish them as
 * one release. Everything that can be checked without building is checked first, so a bad recipe
 * builds and publishes nothing; the release is published only once every variant is built and
 * reported.
 *
 * <p>A variant is reused when its package exists and the digest of its inputs — base, chain,
 * options, calibration text and how it is cut, edgelm version — equals the one recorded beside it
 * ({@code <work>/<id>.inputs}) when it was built.
 */
@Command(mixinStandardHelpOptions = true, name = "release", description = {
    "Build, report and publish a whole release from a recipe (release.yaml).",
    "The recipe names the base (a checkpoint or an fp32 package), the calibration and evaluation texts, and the variants: "
        + "an id and a chain of methods with their options each (see README). Variants whose inputs are unchanged since "
        + "they were last built are reused; the others are built; one report scores all of them; they are published as one "
        + "release to REF (HOST[:PORT]/REPO:TAG or oci:PATH:TAG)."})
final class ReleaseCommand implements Callable<Integer> {
  @Spec CommandSpec spec;

  @Option(names = "--recipe", required = true, paramLabel = "FILE", description = "The release recipe (YAML).")
  Path recipeFile;

  @Option(names = "--to", required = true, paramLabel = "REF", description = "Where to publish the release (a tag).")
  String to;

  @Option(names = "--dry-run", description = "Print the plan (what would be built and what reused); build and publish nothing.")
  boolean dryRun;

  @Option(names = "--sign", paramLabel = "KEY", description = "Sign the release with this PEM Ed25519 private key (see 'edgelm keygen').")
  Path signingKey;

  @Option(names = "--threads", description = "Worker threads (default: the number of cores).")
  Integer threads;

  @Mixin StoreOptionMixin store;

  @Mixin RegistryOptionsMixin registry;

  /** One variant of the plan. */
  private record Planned(Recipe.Variant variant, List<Method> chain, Path dir, String inputs, boolean reuse, String why) {}

  @Override
  public Integer call() throws IOException {
    Recipe recipe = Recipe.load(recipeFile);
    Reference target = Reference.parse(to);
    PrivateKey key = null;
    if (signingKey != null) {
      try {
        key = SigningKeys.readPrivateKey(signingKey);
      } catch (IOException e) {
        throw InputFileException.of("--sign", signingKey, e);
      }
    }
    int workers = threads != null ? threads : Runtime.getRuntime().availableProcessors();
    PrintWriter err = spec.commandLine().getErr();
    Path work = recipe.work();
    boolean basePackage = Files.isRegularFile(recipe.base().resolve(PackageWriter.DESCRIPTOR));
    String baseDigest;
    ImportedModel imported = null;
    Path fp32;
    if (basePackage) {
      fp32 = recipe.base();
      baseDigest = digestOfPackage(fp32);
    } else {
      imported = CheckpointImporter.importCheckpoint(recipe.base(), recipe.tokenizer());
      baseDigest = imported.sourceDigest();
      fp32 = work.resolve("fp32");
    }
    CalibrationOptions calibration = calibrationOptions(recipe, workers);
    String calibrationDigest = recipe.calibration().text() == null ? null : Digests.sha256(recipe.calibration().text());
    List<Planned> plan = plan(recipe, work, baseDigest, calibrationDigest, calibration, workers);

    err.println("release plan: " + plan.size() + " variants from " + recipe.base().getFileName() + " to " + target
        + (dryRun ? " (dry run)" : ""));
    for (Planned p : plan) {
      err.printf(Locale.ROOT, "  %-24s %-6s %s%n", p.variant().id(), p.variant().isBase() ? "base" : p.reuse() ? "reuse" : "build",
          p.why());
    }
    err.flush();
    if (dryRun) {
      err.println("dry run: nothing built, reported or published");
      err.flush();
      return ExitCodes.OK;
    }

    if (imported != null && !baseUpToDate(fp32, baseDigest)) {
      ImportCommand.write(imported, null, new PackageWriter.Target(fp32, true, java.util.Arrays.asList(recipe.base(), recipe.tokenizer())));
      err.println("imported " + imported.name() + " into " + fp32);
    }
    List<Path> published = new ArrayList<>();
    List<Path> reported = new ArrayList<>();
    int index = 0;
    for (Planned p : plan) {
      index++;
      String tag = "[" + index + "/" + plan.size() + " " + p.variant().id() + "] ";
      if (p.variant().isBase()) {
        published.add(fp32);
        continue;
      }
      reported.add(p.dir());
      published.add(p.dir());
      if (p.reuse()) {
        err.println(tag + "reused " + p.variant().id() + " (inputs unchanged) from " + p.dir());
        continue;
      }
      boolean calibrated = p.chain().stream().anyMatch(Method::usesCalibration);
      long start = System.nanoTime();
      Compressor.Compressed c = Compressor.compress(new VariantJob(fp32, p.dir(), p.variant().id(), true,
          calibrated ? recipe.calibration().text() : null, calibration), p.chain(), line -> {
            err.println(tag + line);
            err.flush();
          });
      Files.writeString(inputsFile(work, p.variant().id()), p.inputs() + "\n", StandardCharsets.UTF_8);
      err.println(tag + "built " + CompressionSummary.line(c, p.dir(), (System.nanoTime() - start) / 1e9).substring("wrote ".length()));
      err.flush();
    }

    Recipe.Evaluation e = recipe.evaluation();
    DecodeSpeed.Options speed = e.speed()
        ? new DecodeSpeed.Options(128, 1, e.decodeRounds(), DecodeSpeed.Options.DEFAULTS.timeoutSeconds()).withMachine(ReportCommand.thisMachine())
        : null;
    Path reportDir = work.resolve("report");
    if (!reported.isEmpty()) {
      VariantReport.run(fp32, reported, new VariantReport.Options(e.text(), e.docSeparator(), e.window(), e.stride(), 2, speed, true,
          reportDir, Clock.systemUTC()), line -> {
            err.println("[report] " + line);
            err.flush();
          }, ProgressLine.onStderr(err, "scored"));
      err.println("report: " + reportDir.resolve("report.md"));
    }

    PublishCommand.publish(spec, store, registry, published, target, key);
    return ExitCodes.OK;
  }

  private List<Planned> plan(Recipe recipe, Path work, String baseDigest, String calibrationDigest, CalibrationOptions calibration,
      int workers) throws IOException {
    boolean calibrated = calibrationDigest != null;
    List<Planned> plan = new ArrayList<>();
    boolean baseSeen = false;
    for (Recipe.Variant v : recipe.variants()) {
      if (v.isBase()) {
        if (baseSeen) {
          throw new UsageException(recipe.at(v) + "variant '" + v.id() + "': the base is already listed; give this variant a chain");
        }
        if (!v.id().equals("fp32")) {
          throw new UsageException(recipe.at(v) + "variant '" + v.id() + "' has no chain, so it is the base, whose id is fp32;"
              + " name it fp32 or give it a chain");
        }
        baseSeen = true;
        plan.add(new Planned(v, List.of(), null, null, true, "the base package"));
        continue;
      }
      List<Method> chain;
      try {
        chain = MethodChain.parse(v.chain(), v.options(), "", workers, calibrated);
        for (Method m : chain) {
          String missing = m.calibrationMissing();
          if (missing != null && !calibrated) {
            throw new UsageException(missing.replace("pass --calib FILE", "add calibration: {text: FILE} to the recipe"));
          }
        }
      } catch (UsageException e) {
        throw new UsageException(recipe.at(v) + "variant '" + v.id() + "': " + e.getMessage());
      }
      boolean usesCalibration = calibrated && chain.stream().anyMatch(Method::usesCalibration);
      String inputs = inputsDigest(baseDigest, v, usesCalibration ? calibrationDigest : null, calibration);
      Path dir = work.resolve(v.id());
      Path recorded = inputsFile(work, v.id());
      String why;
      boolean reuse = false;
      if (!Files.isRegularFile(dir.resolve(PackageWriter.DESCRIPTOR)) || !Files.isRegularFile(recorded)) {
        why = "not built yet";
      } else if (!Files.readString(recorded, StandardCharsets.UTF_8).strip().equals(inputs)) {
        why = "inputs changed since it was built";
      } else {
        reuse = true;
        why = "inputs unchanged";
      }
      plan.add(new Planned(v, chain, dir, inputs, reuse, why + " (" + v.chain() + (v.options().isEmpty() ? "" : " " + new TreeMap<>(v.options())) + ")"));
    }
    return plan;
  }

  /** What makes a variant what it is: if none of it changed, the package built from it last time is reused. */
  static String inputsDigest(String baseDigest, Recipe.Variant v, String calibrationDigest, CalibrationOptions calibration) {
    Map<String, String> inputs = new LinkedHashMap<>();
    inputs.put("edgelm", EdgelmVersion.CURRENT);
    inputs.put("base", baseDigest);
    inputs.put("chain", v.chain());
    inputs.put("options", new TreeMap<>(v.options()).toString());
    if (calibrationDigest != null) {
      inputs.put("calibration", calibrationDigest + " " + calibration.sequences() + "x" + calibration.sequenceLength());
    }
    try {
      MessageDigest md = MessageDigest.getInstance("SHA-256");
      return "sha256:" + HexFormat.of().formatHex(md.digest(inputs.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  private static Path inputsFile(Path work, String id) {
    return work.resolve(id + ".inputs");
  }

  private static CalibrationOptions calibrationOptions(Recipe recipe, int workers) {
    CalibrationOptions c = CalibrationOptions.DEFAULTS.withThreads(workers);
    if (recipe.calibration().sequences() != null) {
      c = c.withSequences(recipe.calibration().sequences());
    }
    if (recipe.calibration().length() != null) {
      c = c.withSequenceLength(recipe.calibration().length());
    }
    return c;
  }

  /** A base package's identity: the digests of its files (variant.json excluded, which a report rewrites). */
  private static String digestOfPackage(Path dir) {
    StringBuilder b = new StringBuilder();
    ModelPackage.open(dir).descriptor().getFilesList().forEach(f -> b.append(f.getPath()).append('=').append(f.getDigest()).append('\n'));
    try {
      return "sha256:" + HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8)));
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Whether the imported fp32 package is there and was made from this checkpoint by this edgelm. */
  private static boolean baseUpToDate(Path fp32, String checkpointDigest) {
    if (!Files.isRegularFile(fp32.resolve(PackageWriter.DESCRIPTOR))) {
      return false;
    }
    try {
      var d = ModelPackage.open(fp32).descriptor();
      return d.getBaseModelDigest().equals(checkpointDigest) && d.getToolVersion().equals(EdgelmVersion.CURRENT);
    } catch (RuntimeException e) {
      return false;
    }
  }
}
