package dev.edgelm.trainer;

import dev.edgelm.compressor.OutputException;
import dev.edgelm.engine.DecoderModel;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.engine.SessionSettings;
import dev.edgelm.engine.Sequence;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import java.util.function.Consumer;
import org.bytedeco.javacpp.PointerScope;
import org.bytedeco.pytorch.T_TensorTensor_T;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;

/**
 * The teacher's top-k logits at every position of every training sequence, computed once with ONNX
 * Runtime on the base package (the very graph that serves it) and stored in the run's work
 * directory, so a resumed run reads them instead of running the teacher again.
 *
 * <p>Row {@code s} holds, for each of the sequence's positions, {@code k} logits in descending
 * order ({@link #values}) and their token ids ({@link #ids}).
 */
final class TeacherTargets {
  /** The teacher's stored top-k logits in the work directory. */
  static final String FILE_NAME = "teacher-topk.bin";

  private static final int MAGIC = 0x45544b31; // "ETK1"

  private final int k;
  private final int length;
  private final float[][] values;
  private final int[][] ids;

  private TeacherTargets(int k, int length, float[][] values, int[][] ids) {
    this.k = k;
    this.length = length;
    this.values = values;
    this.ids = ids;
  }

  int k() {
    return k;
  }

  /** Top-k logits of sequence {@code s}: [length·k]. */
  float[] values(int s) {
    return values[s];
  }

  int[] ids(int s) {
    return ids[s];
  }

  /**
   * Reads {@code file} when it was written for {@code key}, else runs the teacher and writes it.
   *
   * @param key identifies the teacher, the sequences and k; a file for another key is replaced
   */
  static TeacherTargets load(Path teacherPackage, List<int[]> sequences, int k, String key, Path file, Consumer<String> progress) {
    TeacherTargets stored = read(file, key, sequences.size());
    if (stored != null) {
      progress.accept("teacher logits: reusing " + file);
      return stored;
    }
    TeacherTargets t = compute(teacherPackage, sequences, k, progress);
    t.write(file, key);
    return t;
  }

  private static TeacherTargets compute(Path teacherPackage, List<int[]> sequences, int k, Consumer<String> progress) {
    int length = sequences.get(0).length;
    float[][] values = new float[sequences.size()][];
    int[][] ids = new int[sequences.size()][];
    try (DecoderModel teacher = DecoderModel.load(ModelPackage.open(teacherPackage), SessionSettings.DEFAULTS);
        Sequence seq = teacher.newSequence()) {
      int v = teacher.vocabSize();
      float[] rows = new float[length * v];
      for (int s = 0; s < sequences.size(); s++) {
        seq.reset();
        seq.append(sequences.get(s), 0, (index, logits) -> System.arraycopy(logits, 0, rows, index * v, v));
        try (PointerScope scope = new PointerScope()) {
          T_TensorTensor_T top = torch.topk(Torch.floats(rows, length, v), k, -1, true, true);
          values[s] = Torch.toFloats(top.get0());
          ids[s] = Torch.toInts(top.get1());
        }
        if ((s + 1) % 50 == 0 || s + 1 == sequences.size()) {
          progress.accept("teacher logits (ONNX Runtime, top " + k + "): " + (s + 1) + "/" + sequences.size() + " sequences");
        }
      }
    }
    return new TeacherTargets(k, length, values, ids);
  }

  private static TeacherTargets read(Path file, String key, int sequences) {
    if (!Files.isRegularFile(file)) {
      return null;
    }
    try (DataInputStream in = new DataInputStream(new BufferedInputStream(Files.newInputStream(file), 1 << 16))) {
      if (in.readInt() != MAGIC || !in.readUTF().equals(key) || in.readInt() != sequences) {
        return null;
      }
      int k = in.readInt();
      int length = in.readInt();
      float[][] values = new float[sequences][length * k];
      int[][] ids = new int[sequences][length * k];
      for (int s = 0; s < sequences; s++) {
        for (int i = 0; i < length * k; i++) {
          values[s][i] = in.readFloat();
        }
        for (int i = 0; i < length * k; i++) {
          ids[s][i] = in.readInt();
        }
      }
      return new TeacherTargets(k, length, values, ids);
    } catch (IOException e) {
      return null; // a torn file from a killed run: compute again
    }
  }

  private void write(Path file, String key) {
    Path partial = file.resolveSibling(file.getFileName() + ".partial");
    try {
      Files.createDirectories(file.getParent());
      try (DataOutputStream out = new DataOutputStream(new BufferedOutputStream(Files.newOutputStream(partial), 1 << 16))) {
        out.writeInt(MAGIC);
        out.writeUTF(key);
        out.writeInt(values.length);
        out.writeInt(k);
        out.writeInt(length);
        for (int s = 0; s < values.length; s++) {
          for (float f : values[s]) {
            out.writeFloat(f);
          }
          for (int i : ids[s]) {
            out.writeInt(i);
          }
        }
      }
      Files.move(partial, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException e) {
      throw new OutputException("cannot store the teacher's logits in " + file + ": " + e.getMessage(), e);
    }
  }
}
