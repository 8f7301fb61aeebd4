package dev.edgelm.compressor.packaging;

import dev.edgelm.compressor.UsageException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collection;

/** Checks that an output location leaves a command's inputs alone. */
public final class OutputPaths {
  private OutputPaths() {}

  /**
   * Refuses an output that is, contains or lies inside one of {@code inputs} (compared after
   * resolving symbolic links), so that replacing or writing it can never destroy what it is made
   * from.
   *
   * @throws UsageException naming the output and the input
   */
  public static void requireApartFromInputs(Path out, Collection<Path> inputs) {
    Path o = canonical(out);
    for (Path input : inputs) {
      if (input == null) {
        continue;
      }
      Path i = canonical(input);
      String problem = o.equals(i) ? "is the input " : i.startsWith(o) ? "contains the input " : o.startsWith(i) ? "is inside the input " : null;
      if (problem != null) {
        throw new UsageException("--out " + out + " " + problem + input + "; choose an --out apart from the inputs");
      }
    }
  }

  /** The absolute path with every symbolic link in its longest existing prefix resolved. */
  static Path canonical(Path p) {
    Path abs = p.toAbsolutePath().normalize();
    Path existing = abs;
    while (existing != null && !Files.exists(existing)) {
      existing = existing.getParent();
    }
    if (existing == null) {
      return abs;
    }
    try {
      return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
    } catch (IOException e) {
      return abs;
    }
  }
}
