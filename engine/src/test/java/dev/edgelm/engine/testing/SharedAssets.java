package dev.edgelm.engine.testing;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Locates the checkout's {@code ../shared} folder (models, tokenizers, corpora, reference outputs).
 *
 * <p>Tests that need a file from it call {@link #require(String)}: when the folder or the file is
 * absent the test is skipped with a message saying so; in CI it is always present and the test runs.
 */
public final class SharedAssets {
  private SharedAssets() {}

  /** The repository root: the {@code edgelm.root} system property the build sets, else the working dir's ancestors. */
  public static Path repositoryRoot() {
    String configured = System.getProperty("edgelm.root");
    if (configured != null && !configured.isBlank()) {
      return Path.of(configured).toAbsolutePath().normalize();
    }
    Path dir = Path.of("").toAbsolutePath();
    for (Path p = dir; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("engine"))) {
        return p;
      }
    }
    return dir;
  }

  /** {@code ../shared} next to the repository, whether or not it exists. */
  public static Path sharedDir() {
    return repositoryRoot().resolve("..").resolve("shared").normalize();
  }

  /** Returns {@code ../shared/<relative>}, skipping the calling test when it is absent. */
  public static Path require(String relative) {
    Path shared = sharedDir();
    assumeTrue(Files.isDirectory(shared), () -> "skipped: " + shared + " is absent (tests with real models need ../shared)");
    Path file = shared.resolve(relative);
    assumeTrue(Files.exists(file), () -> "skipped: " + file + " is absent");
    return file;
  }
}
