package dev.edgelm.compressor.calib;

import dev.edgelm.compressor.CheckpointException;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.Digests;
import dev.edgelm.compressor.packaging.PackageReader;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.ModelPackageException;
import dev.edgelm.engine.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The token sequences calibration runs through the base model, cut from a text file.
 *
 * <p>The slice is fixed so that a variant can be reproduced: the whole file is encoded as one token
 * stream and cut into consecutive chunks of {@code sequenceLength} tokens ({@code sequenceLength - 1}
 * plus BOS when the tokenizer adds one); {@code sequences} of those chunks are taken, spread evenly
 * from the start of the file to its end (chunk {@code floor(i * available / sequences)} for the
 * i-th). A file with fewer chunks gives all of them.
 *
 * <p>Immutable.
 */
public final class CalibrationText {
  private final Path file;
  private final String digest;
  private final List<int[]> sequences;
  private final long fileTokens;

  private CalibrationText(Path file, String digest, List<int[]> sequences, long fileTokens) {
    this.file = file;
    this.digest = digest;
    this.sequences = sequences;
    this.fileTokens = fileTokens;
  }

  /**
   * The calibration text for a base package: encoded with the package's tokenizer, sequences capped
   * at its context length.
   *
   * @throws CheckpointException when the package's tokenizer cannot be loaded
   * @throws UsageException as {@link #load}
   */
  public static CalibrationText forPackage(PackageReader.BasePackage base, Path file, CalibrationOptions options) {
    Tokenizer tokenizer;
    try {
      tokenizer = ModelPackage.open(base.dir()).loadTokenizer();
    } catch (ModelPackageException e) {
      throw new CheckpointException(e.getMessage(), e);
    }
    return load(file, tokenizer, options.sequences(), Math.min(options.sequenceLength(), base.ir().config().contextLength()));
  }

  /**
   * Encodes {@code file} with {@code tokenizer} and cuts it as described above.
   *
   * @param sequenceLength tokens per sequence (callers cap it at the model's context)
   * @throws CheckpointException when the file cannot be read; {@link UsageException} when it holds fewer tokens than one sequence
   */
  public static CalibrationText load(Path file, Tokenizer tokenizer, int sequences, int sequenceLength) {
    String text;
    String digest;
    try {
      text = Files.readString(file, StandardCharsets.UTF_8);
      digest = Digests.sha256(file);
    } catch (IOException e) {
      throw new CheckpointException("cannot read the calibration text " + file + ": "
          + (e instanceof java.nio.file.NoSuchFileException ? "no such file" : e.getMessage()) + "; check --calib", e);
    }
    int[] tokens = tokenizer.encode(text);
    boolean bos = tokenizer.addsBos() && tokenizer.bosId().isPresent();
    int per = sequenceLength - (bos ? 1 : 0);
    int available = tokens.length / per;
    if (available == 0) {
      throw new UsageException("the calibration text " + file + " has " + tokens.length + " tokens; at least " + per
          + " are needed for one sequence of " + sequenceLength + " (give a longer text)");
    }
    int n = Math.min(sequences, available);
    int[][] out = new int[n][];
    for (int i = 0; i < n; i++) {
      int chunk = (int) ((long) i * available / n);
      int[] seq = new int[sequenceLength];
      int at = 0;
      if (bos) {
        seq[at++] = tokenizer.bosId().getAsInt();
      }
      System.arraycopy(tokens, chunk * per, seq, at, per);
      out[i] = seq;
    }
    return new CalibrationText(file.toAbsolutePath().normalize(), digest, List.of(out), tokens.length);
  }

  /** Wraps sequences that are already tokens (tests, or callers with their own slicing). */
  public static CalibrationText of(List<int[]> sequences, String digest) {
    if (sequences.isEmpty()) {
      throw new UsageException("calibration needs at least one sequence");
    }
    int len = sequences.get(0).length;
    for (int[] s : sequences) {
      if (s.length != len) {
        throw new UsageException("calibration sequences must all have the same length");
      }
    }
    return new CalibrationText(null, digest, sequences.stream().map(int[]::clone).toList(),
        (long) sequences.size() * len);
  }

  public List<int[]> sequences() {
    return sequences;
  }

  public int sequenceLength() {
    return sequences.get(0).length;
  }

  /** Tokens run through the model: sequences × length. */
  public long tokens() {
    return (long) sequences.size() * sequenceLength();
  }

  /** {@code sha256:<hex>} of the calibration file. */
  public String digest() {
    return digest;
  }

  /** How the text was cut, for reports and method parameters. */
  public String describe() {
    return String.format(Locale.ROOT, "%d sequences of %d tokens spread evenly over %s (%,d tokens)",
        sequences.size(), sequenceLength(), file == null ? "given tokens" : file.getFileName(), fileTokens);
  }

  @Override
  public String toString() {
    return "CalibrationText[" + describe() + ", " + digest + "]";
  }

  int[] flatTokens(int from, int to) {
    int len = sequenceLength();
    int[] flat = new int[(to - from) * len];
    for (int i = from; i < to; i++) {
      System.arraycopy(sequences.get(i), 0, flat, (i - from) * len, len);
    }
    return flat;
  }
}
