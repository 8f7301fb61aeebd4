package dev.edgelm.compressor.report;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.OutputException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.Digests;
import dev.edgelm.compressor.packaging.PackageWriter;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.EngineException;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ScoringPlan;
import dev.edgelm.engine.ScoringProgress;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.Quality;
import dev.edgelm.proto.v1.SpeedMeasurement;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Consumer;

/**
 * Measures a base package and its variants and reports them side by side: parameters, bytes on
 * disk, perplexity and its ratio to the base, top-1 agreement with the base and KL(base ‖ variant)
 * (all on one {@link ScoringPlan}, see {@link VariantComparison}), and decode speed with peak memory
 * (one child process per package, see {@link DecodeSpeed}). Writes {@code report.md},
 * {@code report.json} and the PNG charts of {@link ReportCharts} ({@code quality.png}: perplexity
 * ratio and KL against size; {@code speed.png}: decode speed against size; Pareto frontiers marked) and records quality and speed
 * in every package's {@code variant.json}, the base's included, so a host can choose on them.
 *
 * <p>Method-agnostic: anything packaged with the base's tokenizer can be a variant.
 */
public final class VariantReport {
  /**
   * @param docSeparator score each document between separators on its own (per-document
   *     protocol); null for sliding windows over the whole text
   * @param window sliding-window length, or 0 for the base's context length
   * @param stride sliding-window stride, or 0 for half the window
   * @param parallelism windows scored at once
   * @param speed decode measurement options, or null to skip speed and memory
   * @param updateDescriptors write quality and speed into each package's {@code variant.json}
   * @param out directory for report.md, report.json, quality.png and speed.png
   */
  public record Options(Path text, String docSeparator, int window, int stride, int parallelism, DecodeSpeed.Options speed,
      boolean updateDescriptors, Path out, Clock clock) {}

  /**
   * Method parameters whose key starts with this describe one matrix each (e.g. the Kronecker
   * compressor's per-layer errors); the report shows them as a table per variant.
   */
  public static final String PER_MATRIX_PARAM_PREFIX = "layer.";

  /** One package's row of the report. */
  public record Entry(String id, Path dir, String method, Map<String, String> params, long parameters, long packageBytes,
      VariantComparison.Scores scores, double perplexityRatio, DecodeSpeed.Measurement speed) {}

  /** Everything measured, as written to the report files. */
  public record Report(String model, Path text, String textDigest, String protocol, long tokens, String host, Instant date,
      Entry base, List<Entry> variants) {}

  private VariantReport() {}

  /**
   * @throws UsageException when a variant does not share the base's tokenizer or the text has nothing to score
   * @throws CheckpointException when a package cannot be opened or loaded
   * @throws OutputException when a speed measurement or writing the report fails
   */
  public static Report run(Path baseDir, List<Path> variantDirs, Options options, Consumer<String> progress) {
    return run(baseDir, variantDirs, options, progress, ScoringProgress.NONE);
  }

  /** As {@link #run(Path, List, Options, Consumer)}, telling {@code scoring} how the scoring of the text proceeds. */
  public static Report run(Path baseDir, List<Path> variantDirs, Options options, Consumer<String> progress, ScoringProgress scoring) {
    List<ModelPackage> packages = new ArrayList<>();
    try {
      packages.add(ModelPackage.open(baseDir));
      for (Path v : variantDirs) {
        packages.add(ModelPackage.open(v));
      }
    } catch (EngineException e) {
      throw new CheckpointException(e.getMessage(), e);
    }
    ModelPackage base = packages.get(0);
    for (ModelPackage v : packages.subList(1, packages.size())) {
      if (!tokenizerDigests(v).equals(tokenizerDigests(base))) {
        throw new UsageException(v.dir() + " does not carry the tokenizer of the base " + base.dir()
            + "; a report compares variants of one model");
      }
    }
    String text;
    String digest;
    try {
      text = Files.readString(options.text(), StandardCharsets.UTF_8);
      digest = Digests.sha256(options.text());
    } catch (IOException e) {
      throw new UsageException("cannot read the evaluation text " + options.text() + ": " + e.getMessage(), e);
    }

    List<DecoderModel> models = new ArrayList<>();
    ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, options.parallelism()));
    VariantComparison.Result result;
    ScoringPlan plan;
    try {
      Tokenizer tokenizer = base.loadTokenizer();
      for (ModelPackage p : packages) {
        models.add(DecoderModel.load(p, SessionSettings.DEFAULTS, tokenizer));
      }
      plan = plan(models.get(0), text, options);
      if (plan.scoredTokens() == 0) {
        throw new UsageException("the evaluation text " + options.text() + " has no tokens to score");
      }
      progress.accept("scoring " + plan.scoredTokens() + " tokens (" + plan.protocol() + ") with " + packages.size() + " models");
      result = VariantComparison.compare(models.get(0), models.subList(1, models.size()), plan, pool, options.parallelism(), scoring);
    } catch (EngineException e) {
      throw new CheckpointException(e.getMessage(), e);
    } finally {
      models.forEach(DecoderModel::close);
      pool.shutdownNow();
    }

    List<Entry> entries = new ArrayList<>();
    for (int i = 0; i < packages.size(); i++) {
      ModelPackage p = packages.get(i);
      VariantComparison.Scores s = i == 0 ? result.base() : result.variants().get(i - 1);
      DecodeSpeed.Measurement speed = null;
      if (options.speed() != null) {
        progress.accept("measuring decode speed of " + p.descriptor().getId() + " (" + p.dir() + ")");
        speed = DecodeSpeed.measure(p.dir(), options.speed());
      }
      VariantDescriptor d = p.descriptor();
      entries.add(new Entry(d.getId().isEmpty() ? p.dir().getFileName().toString() : d.getId(), p.dir(), d.getMethod().getName(),
          new TreeMap<>(d.getMethod().getParamsMap()), d.getParameterCount(), packageBytes(d), s,
          s.perplexity() / result.base().perplexity(), speed));
    }
    Report report = new Report(base.descriptor().getModel(), options.text().toAbsolutePath().normalize(), digest,
        result.protocol(), result.base().tokens(), DecodeSpeed.host(), options.clock().instant(), entries.get(0),
        List.copyOf(entries.subList(1, entries.size())));
    if (options.updateDescriptors()) {
      for (int i = 0; i < packages.size(); i++) {
        PackageWriter.rewriteDescriptor(packages.get(i).dir(), withMeasurements(packages.get(i).descriptor(), entries.get(i), report));
      }
    }
    ReportFiles.write(report, options.out());
    return report;
  }

  private static ScoringPlan plan(DecoderModel base, String text, Options o) {
    if (o.docSeparator() != null) {
      if (o.window() > 0 || o.stride() > 0) {
        throw new UsageException("a window and stride apply to sliding windows, not to a document separator");
      }
      return ScoringPlan.perDocument(base.tokenizer(), text, o.docSeparator(), base.contextLength());
    }
    int window = o.window() > 0 ? o.window() : base.contextLength();
    if (window > base.contextLength()) {
      throw new UsageException("window " + window + " exceeds the model's context length " + base.contextLength());
    }
    return ScoringPlan.slidingWindow(base.tokenizer(), text, window, o.stride() > 0 ? o.stride() : Math.max(1, window / 2));
  }

  private static Map<String, String> tokenizerDigests(ModelPackage p) {
    Map<String, String> digests = new TreeMap<>();
    for (PackageFile f : p.descriptor().getFilesList()) {
      if (f.getRole().equals("tokenizer")) {
        digests.put(f.getPath(), f.getDigest().isEmpty() ? Long.toString(f.getSize()) : f.getDigest());
      }
    }
    return digests;
  }

  /** Bytes of every file a package lists, its variant.json aside: the package's size on disk. */
  public static long packageBytes(VariantDescriptor d) {
    return d.getFilesList().stream().mapToLong(PackageFile::getSize).sum();
  }

  /** The descriptor with this report's quality and, replacing any earlier one from the same host and threads, speed. */
  static VariantDescriptor withMeasurements(VariantDescriptor d, Entry e, Report r) {
    VariantComparison.Scores s = e.scores();
    VariantDescriptor.Builder b = d.toBuilder().setQuality(Quality.newBuilder()
        .setPerplexity(s.perplexity())
        .setBasePerplexity(r.base().scores().perplexity())
        .setPerplexityRatio(e.perplexityRatio())
        .setTop1Agreement(s.top1Agreement())
        .setKlDivergence(s.klDivergence())
        .setEvalTextDigest(r.textDigest())
        .setEvalTokens(s.tokens())
        .setEvalProtocol(r.protocol()));
    DecodeSpeed.Measurement m = e.speed();
    if (m != null) {
      b.clearSpeed();
      for (SpeedMeasurement old : d.getSpeedList()) {
        if (!(old.getHost().equals(m.host()) && old.getThreads() == m.threads())) {
          b.addSpeed(old);
        }
      }
      b.addSpeed(SpeedMeasurement.newBuilder()
          .setDecodeTokensPerSecond(m.decodeTokensPerSecond())
          .setThreads(m.threads())
          .setHost(m.host())
          .setTimeToFirstTokenMs(m.timeToFirstTokenMs())
          .setPromptTokens(m.promptTokens())
          .setPeakRssBytes(m.peakRssBytes())
          .setMemoryBandwidthBytesPerSecond(m.machine().memoryBandwidthBytesPerSecond())
          .addAllCpuFeatures(m.machine().cpuFeatures()));
    }
    return b.build();
  }
}
