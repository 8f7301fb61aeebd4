package dev.edgelm.trainer;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.StepContext;
import dev.edgelm.compressor.StepResult;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.calib.CalibrationText;
import dev.edgelm.compressor.distill.DistillOptions;
import dev.edgelm.compressor.distill.Distiller;
import dev.edgelm.compressor.ir.LinearWeight;
import dev.edgelm.compressor.ir.ModelIr;
import dev.edgelm.compressor.packaging.PackageReader;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.Ticker;
import dev.edgelm.engine.tokenizer.Tokenizer;
import dev.edgelm.proto.v1.CalibrationSource;
import dev.edgelm.proto.v1.DistillParams;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.Step;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;

/**
 * The {@code distill} step on libtorch: cuts the training text into sequences with the base's
 * tokenizer, has ONNX Runtime compute the teacher's top-k logits on them once, trains the student
 * ({@link DistillRun}) and returns it in the forms it came in, with the recipe, the data's digest
 * and the token count recorded in the step.
 *
 * <p>Work files (teacher logits, checkpoints) live in a hidden directory beside the output,
 * {@code .<out>.distill}, which only this step writes; a run that is killed resumes from it when
 * started again with the same inputs, and a run that finishes removes it.
 */
public final class TorchDistiller implements Distiller {
  static final String LOSS = "kl_topk";
  private final Ticker ticker;

  public TorchDistiller() {
    this(Ticker.system());
  }

  TorchDistiller(Ticker ticker) {
    this.ticker = ticker;
  }

  @Override
  public StepResult distill(ModelIr student, DistillOptions options, StepContext context) {
    PackageReader.BasePackage base = context.base();
    if (base == null || context.out() == null) {
      throw new IllegalStateException("distill runs inside Compressor.compress, which names the teacher and the output");
    }
    return distill(student, options, base, context.out().resolveSibling("." + context.out().getFileName() + ".distill"),
        context.progress());
  }

  /** The files of the run's work directory this step wrote; anything else in it is not ours to remove. */
  static final List<String> WORK_FILES = List.of(TeacherTargets.FILE_NAME, TeacherTargets.FILE_NAME + ".partial", Checkpoints.FILE,
      Checkpoints.FILE + ".partial", Checkpoints.KEY_FILE);

  /** After a finished run: removes the files it wrote, and the directory if nothing else is left in it. */
  static void removeWorkFiles(Path workDir) {
    try {
      for (String name : WORK_FILES) {
        Files.deleteIfExists(workDir.resolve(name));
      }
      boolean empty;
      try (Stream<Path> left = Files.list(workDir)) {
        empty = left.findAny().isEmpty();
      }
      if (empty) {
        Files.delete(workDir);
      }
    } catch (IOException e) {
      // The student is trained and about to be written; a work file left behind is only disk space.
      System.getLogger(TorchDistiller.class.getName()).log(System.Logger.Level.WARNING,
          "could not remove the distill work files in " + workDir + ": " + e.getMessage());
    }
  }

  /** The step with an explicit work directory (tests: a run killed and resumed). */
  StepResult distill(ModelIr student, DistillOptions options, PackageReader.BasePackage base, Path workDir,
      Consumer<String> progress) {
    if (student.config().vocabSize() != base.ir().config().vocabSize()) {
      throw new UsageException("distill: the student's vocabulary (" + student.config().vocabSize() + ") differs from the"
          + " base's (" + base.ir().config().vocabSize() + "); they must share a tokenizer");
    }
    Path teacherDir = base.dir();
    Torch.init(options.threads(), options.seed());
    int seqLen = Math.min(options.seqLen(), student.config().contextLength());
    Tokenizer tokenizer;
    try {
      tokenizer = ModelPackage.open(teacherDir).loadTokenizer();
    } catch (ModelPackageException e) {
      throw new CheckpointException(e.getMessage(), e);
    }
    int wanted = (int) Math.min(Integer.MAX_VALUE, (long) options.steps(seqLen) * options.batch());
    CalibrationText text = CalibrationText.load(options.trainText(), tokenizer, wanted, seqLen);
    progress.accept("training text: " + text.describe());
    String teacherKey = digest(teacherFiles(base) + "|" + text.digest() + "|" + seqLen + "|" + options.topK() + "|"
        + text.sequences().size());
    TeacherTargets teacher = TeacherTargets.load(teacherDir, text.sequences(), options.topK(), teacherKey,
        workDir.resolve(TeacherTargets.FILE_NAME), progress);
    String recipe = digest(teacherKey + "|" + options + "|" + studentDigest(student));
    DistillRun.Outcome outcome = new DistillRun(options, text.sequences(), teacher, new Checkpoints(workDir, recipe), ticker,
        progress).run(student);
    removeWorkFiles(workDir);
    return result(outcome, options, text, seqLen);
  }

  private static StepResult result(DistillRun.Outcome o, DistillOptions options, CalibrationText text, int seqLen) {
    long tokens = (long) o.steps() * options.batch() * seqLen;
    DistillParams p = DistillParams.newBuilder()
        .setTrainText(CalibrationSource.newBuilder().setDigest(text.digest()).setTokens(text.tokens()).setDescription(text.describe()))
        .setTrainTokens(tokens).setSteps(o.steps()).setBatch(options.batch()).setSeqLen(seqLen).setLr(options.lr())
        .setWeightDecay(options.weightDecay()).setSchedule("cosine").setWarmupSteps(DistillRun.warmupSteps(o.steps()))
        .setTopK(options.topK()).setLoss(LOSS).setSeed(options.seed()).setLossFirst(o.meanLoss(true))
        .setLossLast(o.meanLoss(false)).setClipNorm(DistillRun.CLIP_NORM).setLibrary(library()).build();
    Method legacy = Method.newBuilder().setName("distill")
        .putParams("train_tokens", String.valueOf(tokens)).putParams("train_text", text.digest())
        .putParams("lr", String.valueOf(options.lr())).putParams("batch", String.valueOf(options.batch()))
        .putParams("seq_len", String.valueOf(seqLen)).putParams("top_k", String.valueOf(options.topK()))
        .putParams("loss", LOSS).build();
    String summary = String.format(Locale.ROOT, "distilled on %,d tokens in %d steps, loss %.4f -> %.4f", tokens, o.steps(),
        p.getLossFirst(), p.getLossLast());
    return new StepResult(o.student(), Step.newBuilder().setName("distill").setDistill(p).build(), legacy, List.of(), summary,
        List.of());
  }

  static String library() {
    String v = org.bytedeco.pytorch.global.torch.class.getPackage().getImplementationVersion();
    return "libtorch " + (v == null ? "2.10.0" : v) + " (bytedeco presets), cpu";
  }

  private static String teacherFiles(PackageReader.BasePackage base) {
    StringBuilder b = new StringBuilder();
    for (PackageFile f : base.descriptor().getFilesList()) {
      b.append(f.getPath()).append('=').append(f.getDigest()).append(';');
    }
    return b.toString();
  }

  /** A digest of the student's starting values, so a checkpoint is only resumed for the same student. */
  private static String studentDigest(ModelIr student) {
    MessageDigest md = sha256();
    ByteBuffer buf = ByteBuffer.allocate(1 << 16).order(ByteOrder.LITTLE_ENDIAN);
    for (LinearWeight w : student.linears().values().stream().map(l -> l.weight()).toList()) {
      feed(md, buf, w.toDense().data());
    }
    feed(md, buf, student.tokenEmbedding().toDense().data());
    return HexFormat.of().formatHex(md.digest());
  }

  private static void feed(MessageDigest md, ByteBuffer buf, float[] values) {
    for (float f : values) {
      if (!buf.hasRemaining()) {
        md.update(buf.array(), 0, buf.position());
        buf.clear();
      }
      buf.putFloat(f);
    }
    md.update(buf.array(), 0, buf.position());
    buf.clear();
  }

  private static String digest(String s) {
    return HexFormat.of().formatHex(sha256().digest(s.getBytes(StandardCharsets.UTF_8)));
  }

  private static MessageDigest sha256() {
    try {
      return MessageDigest.getInstance("SHA-256");
    } catch (NoSuchAlgorithmException e) {
      throw new IllegalStateException(e);
    }
  }
}
