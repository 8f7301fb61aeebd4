package dev.edgelm.it.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.it.daemon.ItModels;
import dev.edgelm.it.testing.EdgelmCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing the user owns is lost to {@code --force}, to an output that overlaps an input, or to a
 * command stopped mid-write: the launcher as separate processes, signals sent to them for real.
 */
class DataSafetyIT {
  private static final Duration QUICK = Duration.ofMinutes(2);

  @TempDir Path tmp;

  @Test
  void importWithForceOntoAProjectDirectory_refusesAndKeepsItsFiles() throws Exception {
    Path project = Files.createDirectories(tmp.resolve("project"));
    Files.createDirectories(project.resolve("src"));
    Files.writeString(project.resolve("src/Main.java"), "class Main {}");
    EdgelmCommand.Result r = EdgelmCommand.run(project, QUICK, "import",
        SharedAssets.require("models/stories260K/stories260K.bin").toString(), "--out", ".", "--force");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("is not an edgelm package"), r.err());
    assertEquals(1, r.err().strip().lines().count(), "one line: " + r.err());
    assertEquals("class Main {}", Files.readString(project.resolve("src/Main.java")));
  }

  @Test
  void importOntoItsSource_andCompressOntoItsBase_areRefused() throws Exception {
    Path source = tmp.resolve("ckpt");
    EdgelmCommand.run(tmp, QUICK, "synth", "--preset", "llama-tiny", "--out", source.toString()).assertSuccess();
    long weights = Files.size(source.resolve("model.safetensors"));
    EdgelmCommand.Result r = EdgelmCommand.run(tmp, QUICK, "import", source.toString(), "--out", source.toString(), "--force");
    assertEquals(2, r.exit(), r.err());
    assertTrue(r.err().contains("is the input"), r.err());
    assertEquals(weights, Files.size(source.resolve("model.safetensors")));

    Path base = tmp.resolve("base");
    EdgelmCommand.run(tmp, QUICK, "import", source.toString(), "--out", base.toString()).assertSuccess();
    String descriptor = Files.readString(base.resolve("variant.json"));
    EdgelmCommand.Result c = EdgelmCommand.run(tmp, QUICK, "compress", "--model", base.toString(), "--method", "int8",
        "--out", base.toString(), "--force");
    assertEquals(2, c.exit(), c.err());
    assertTrue(c.err().contains("is the input"), c.err());
    EdgelmCommand.Result inside = EdgelmCommand.run(tmp, QUICK, "compress", "--model", base.toString(), "--method", "int8",
        "--out", base.resolve("int8").toString());
    assertEquals(2, inside.exit(), inside.err());
    assertEquals(descriptor, Files.readString(base.resolve("variant.json")), "the base package is untouched");
  }

  @Test
  void compressStoppedBySigterm_leavesNoPartial_andKilledOnesAreSweptOnlyOnceTheirOwnerIsDead() throws Exception {
    Path base = ItModels.gpt2Small();
    Path work = Files.createDirectories(tmp.resolve("work"));

    Process terminated = startCompress(work, "a");
    awaitPartial(work, terminated);
    terminated.destroy(); // SIGTERM
    assertTrue(terminated.waitFor(2, TimeUnit.MINUTES), "compress exits on SIGTERM");
    assertNotEquals(0, terminated.exitValue());
    assertEquals(List.of(), hidden(work), "SIGTERM removed the partial and its lock");
    assertFalse(Files.exists(work.resolve("a")));

    Files.createDirectories(tmp.resolve("store")); // gc --store collects an existing store; a missing one is an error
    Process killed = startCompress(work, "b");
    Path partial = awaitPartial(work, killed);
    signal(killed, "STOP"); // frozen mid-write: its lock is still held
    EdgelmCommand.Result live = EdgelmCommand.run(tmp, QUICK, "gc", "--store", tmp.resolve("store").toString(),
        "--partials-in", work.toString()).assertSuccess();
    assertTrue(live.out().contains("removed 0 stale partial directories"), live.out());
    assertTrue(live.out().contains("1 still being written"), live.out());
    assertTrue(Files.isDirectory(partial), "a partial a live process owns is left alone");
    killed.destroyForcibly(); // SIGKILL: no hook runs, the kernel drops the lock
    killed.waitFor(1, TimeUnit.MINUTES);
    assertTrue(Files.isDirectory(partial), "kill -9 leaves the partial behind");
    EdgelmCommand.Result swept = EdgelmCommand.run(tmp, QUICK, "gc", "--store", tmp.resolve("store").toString(),
        "--partials-in", work.toString()).assertSuccess();
    assertTrue(swept.out().contains("removed 1 stale partial directories"), swept.out());
    assertEquals(List.of(), hidden(work));
  }

  private Process startCompress(Path work, String out) throws Exception {
    return EdgelmCommand.start(tmp, Files.createTempFile(tmp, "out", ".txt"), Files.createTempFile(tmp, "err", ".txt"),
        "compress", "--model", ItModels.gpt2Small().toString(), "--method", "int8", "--out", work.resolve(out).toString());
  }

  /** Waits (bounded) for the command's hidden partial directory to appear. */
  private static Path awaitPartial(Path work, Process p) throws Exception {
    long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
    while (System.nanoTime() < giveUp) {
      Optional<Path> partial = hidden(work).stream().filter(Files::isDirectory).findFirst();
      if (partial.isPresent()) {
        return partial.get();
      }
      if (!p.isAlive()) {
        throw new AssertionError("compress exited (" + p.exitValue() + ") before it began writing");
      }
      Thread.sleep(2); // polling the file system for an event, bounded by giveUp
    }
    p.destroyForcibly();
    throw new AssertionError("compress did not begin writing within 3 minutes");
  }

  private static void signal(Process p, String signal) throws Exception {
    assertEquals(0, new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).start().waitFor());
  }

  private static List<Path> hidden(Path dir) throws Exception {
    try (Stream<Path> s = Files.list(dir)) {
      return s.filter(p -> p.getFileName().toString().startsWith(".")).sorted().toList();
    }
  }
}
