package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** Everything the README's examples write inside the clone is ignored by git — above all the private key keygen makes. */
class ReadmeOutputsIgnoredTest {
  private static final Pattern OUTPUT = Pattern.compile("--(?:out|store|layer-report|work)\\s+(\\S+)|(?:--to|pull)\\s+oci:([^:\\s]+):");
  private static final Pattern KEYGEN = Pattern.compile("keygen\\s+--out\\s+(\\S+)");

  @Test
  void everyPathTheReadmeWrites_isGitIgnored() throws IOException, InterruptedException {
    Path root = SharedAssets.repositoryRoot();
    assumeTrue(Files.exists(root.resolve(".git")), "not a git checkout: " + root);
    String readme = Files.readString(root.resolve("README.md"), StandardCharsets.UTF_8);
    Set<String> written = new LinkedHashSet<>();
    written.add(".edgelm-quickstart/"); // quickstart's default --work
    written.add("edgelm.key"); // keygen's default prefix
    for (String block : readme.split("```")) {
      if (!block.startsWith("sh")) {
        continue;
      }
      for (String line : block.split("\n")) {
        Matcher k = KEYGEN.matcher(line);
        if (k.find()) { // --out is a file name prefix here
          written.add(k.group(1) + ".key");
          written.add(k.group(1) + ".pub");
          continue;
        }
        Matcher m = OUTPUT.matcher(line);
        while (m.find()) {
          String p = m.group(1) != null ? m.group(1) : m.group(2);
          if (!p.startsWith("..") && !p.startsWith("/")) {
            written.add(p);
          }
        }
      }
    }
    assertTrue(written.contains("release.key") && written.contains("models/gpt2-fixture"), "README parse found " + written);
    List<String> tracked = new ArrayList<>();
    for (String p : written) {
      Process git = new ProcessBuilder("git", "check-ignore", "-q", "--no-index", p).directory(root.toFile())
          .redirectErrorStream(true).start();
      git.getInputStream().readAllBytes();
      assertTrue(git.waitFor(30, TimeUnit.SECONDS), "git check-ignore did not finish");
      if (git.exitValue() == 1) {
        tracked.add(p);
      } else {
        assertTrue(git.exitValue() == 0, "git check-ignore " + p + " failed with " + git.exitValue());
      }
    }
    assertTrue(tracked.isEmpty(), "README examples write these, but .gitignore does not ignore them: " + tracked);
  }
}
