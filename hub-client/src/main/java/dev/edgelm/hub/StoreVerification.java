package dev.edgelm.hub;

import java.nio.file.Path;
import java.util.List;

/**
 * What {@link LocalStore#verify()} found.
 *
 * @param filesChecked blobs and package files read
 * @param bytesChecked their total size
 * @param damaged one entry per file whose bytes no longer match its digest, sorted by path
 */
public record StoreVerification(int filesChecked, long bytesChecked, List<Damaged> damaged) {
  public StoreVerification {
    damaged = List.copyOf(damaged);
  }

  public boolean ok() {
    return damaged.isEmpty();
  }

  /** A damaged file and what is wrong with it (the problem does not repeat the path). */
  public record Damaged(Path file, String problem) {}
}
