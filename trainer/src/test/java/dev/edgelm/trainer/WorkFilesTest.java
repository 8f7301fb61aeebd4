package dev.edgelm.trainer;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A finished run removes what it wrote in its work directory, never anything else found there. */
class WorkFilesTest {
  @TempDir Path tmp;

  @Test
  void removeWorkFiles_removesOursAndTheEmptyDirectory() throws Exception {
    Path work = Files.createDirectory(tmp.resolve(".out.distill"));
    for (String name : TorchDistiller.WORK_FILES) {
      Files.writeString(work.resolve(name), "x");
    }
    TorchDistiller.removeWorkFiles(work);
    assertFalse(Files.exists(work));
  }

  @Test
  void removeWorkFiles_keepsAFileThatIsNotOurs() throws Exception {
    Path work = Files.createDirectory(tmp.resolve(".out.distill"));
    Files.writeString(work.resolve(Checkpoints.FILE), "x");
    Path theirs = Files.writeString(work.resolve("notes.txt"), "the user's");
    TorchDistiller.removeWorkFiles(work);
    assertFalse(Files.exists(work.resolve(Checkpoints.FILE)));
    assertTrue(Files.exists(theirs));
  }
}
