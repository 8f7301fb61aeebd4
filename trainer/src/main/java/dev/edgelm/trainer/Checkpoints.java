package dev.edgelm.trainer;

import dev.edgelm.compressor.OutputException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.List;
import org.bytedeco.pytorch.InputArchive;
import org.bytedeco.pytorch.Optimizer;
import org.bytedeco.pytorch.OutputArchive;
import org.bytedeco.pytorch.Tensor;

/**
 * A run's checkpoint in its work directory: the step reached, every parameter, the optimizer's
 * state (AdamW's moments and step counts) and the losses so far, in one libtorch archive written
 * to a partial file and renamed into place, so a run killed at any moment (kill -9 included)
 * leaves the previous checkpoint or the new one, never half of one. A checkpoint belongs to one
 * recipe ({@code key}); a directory holding another recipe's is started afresh.
 */
final class Checkpoints {
  static final String FILE = "checkpoint.pt";
  static final String KEY_FILE = "recipe.key";

  private final Path dir;
  private final String key;

  Checkpoints(Path dir, String key) {
    this.dir = dir;
    this.key = key;
  }

  /** What a checkpoint restored: the next step to run and the losses of the steps before it. */
  record Restored(int step, float[] losses) {}

  /**
   * Restores the parameters and the optimizer in place from this recipe's checkpoint, or returns
   * null (and forgets any other recipe's) when there is none.
   */
  Restored restore(List<Tensor> parameters, Optimizer optimizer) {
    Path file = dir.resolve(FILE);
    try {
      Path keyFile = dir.resolve(KEY_FILE);
      if (!Files.isRegularFile(file) || !Files.isRegularFile(keyFile)
          || !Files.readString(keyFile, StandardCharsets.UTF_8).equals(key)) {
        Files.deleteIfExists(file);
        return null;
      }
    } catch (IOException e) {
      throw new OutputException("cannot read the checkpoint in " + dir + ": " + e.getMessage(), e);
    }
    InputArchive in = new InputArchive();
    in.load_from(file.toString());
    Tensor step = new Tensor();
    in.read("step", step);
    Tensor losses = new Tensor();
    in.read("losses", losses);
    for (int i = 0; i < parameters.size(); i++) {
      in.read("p" + i, parameters.get(i));
    }
    InputArchive opt = new InputArchive();
    in.read("optimizer", opt);
    optimizer.load(opt);
    int next = Torch.toInts(step)[0];
    return new Restored(next, next == 0 ? new float[0] : Torch.toFloats(losses));
  }

  /** Writes the checkpoint after {@code step} steps. */
  void save(int step, float[] losses, List<Tensor> parameters, Optimizer optimizer) {
    OutputArchive out = new OutputArchive();
    out.write("step", Torch.longs(new long[] {step}, 1));
    out.write("losses", Torch.floats(losses.length == 0 ? new float[] {0} : losses, Math.max(1, losses.length)));
    for (int i = 0; i < parameters.size(); i++) {
      out.write("p" + i, parameters.get(i).detach());
    }
    OutputArchive opt = new OutputArchive();
    optimizer.save(opt);
    out.write("optimizer", opt);
    Path partial = dir.resolve(FILE + ".partial");
    try {
      Files.createDirectories(dir);
      Files.writeString(dir.resolve(KEY_FILE), key, StandardCharsets.UTF_8);
      out.save_to(partial.toString());
      Files.move(partial, dir.resolve(FILE), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    } catch (IOException | RuntimeException e) {
      throw new OutputException("cannot write the checkpoint in " + dir + ": " + e.getMessage(), e);
    }
  }
}
