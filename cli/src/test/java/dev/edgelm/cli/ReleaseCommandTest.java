package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.SharedAssets;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code edgelm release}: recipe errors (one line, exit 2, nothing written) and the dry run's plan. Needs ../shared. */
class ReleaseCommandTest {
  @TempDir Path tmp;
  String base;
  String eval;

  private record Run(int exit, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(new StringWriter(), true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), err.toString());
  }

  @BeforeEach
  void assets() {
    base = SharedAssets.require("models/stories260K/stories260K.bin").toString();
    eval = SharedAssets.require("corpora/tinystories-valid.head32k.txt").toString();
  }

  private Run release(String yaml, String... extra) throws IOException {
    Path recipe = tmp.resolve("release.yaml");
    Files.writeString(recipe, yaml);
    String[] args = {"release", "--recipe", recipe.toString(), "--to", "oci:" + tmp.resolve("hub") + ":v1", "--store",
        tmp.resolve("store").toString()};
    String[] all = new String[args.length + extra.length];
    System.arraycopy(args, 0, all, 0, args.length);
    System.arraycopy(extra, 0, all, args.length, extra.length);
    return run(all);
  }

  private String recipe(String variants) {
    return "base: " + base + "\nwork: build\nevaluation: {text: " + eval + ", speed: false}\nvariants:\n" + variants;
  }

  private void assertRefused(Run r, String message) {
    assertEquals(2, r.exit(), r.err());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().contains(message), r.err());
    assertTrue(Files.notExists(tmp.resolve("build")) && Files.notExists(tmp.resolve("hub")), "nothing built or published");
  }

  @Test
  void release_badRecipes_areOneLineErrorsNamingTheLineAndKey() throws IOException {
    assertRefused(release(recipe("  - id: fp32\n  - id: int8\n    chain: int8\n    colour: red\n")),
        "release.yaml:8: unknown key 'colour' in a variant; known keys: chain, id, options");
    assertRefused(release(recipe("  - id: fp32\n  - {id: int8, chain: int8}\n  - {id: int8, chain: int4}\n")),
        "release.yaml:7: duplicate variant id 'int8'");
    assertRefused(release("base: " + tmp.resolve("missing.bin") + "\nevaluation: {text: " + eval + "}\nvariants: [{id: fp32}]\n"),
        "release.yaml:1: base: no such file or directory");
    assertRefused(release(recipe("  - id: fp32\n  - {id: k, chain: 'int4,kron'}\n")),
        "release.yaml:6: variant 'k': method int4,kron: kron cannot follow int4");
    assertRefused(release(recipe("  - {id: q, chain: int4, options: {algo: gptq}}\n")),
        "release.yaml:5: variant 'q': --algo gptq needs calibration text; add calibration: {text: FILE} to the recipe");
    assertRefused(release(recipe("  - {id: q, chain: int8, options: {rank: 2}}\n")),
        "release.yaml:5: variant 'q': rank does not apply to method int8; it applies to method kron");
  }

  @Test
  void release_dryRun_printsThePlanAndWritesNothing() throws IOException {
    Run r = release(recipe("  - id: fp32\n  - {id: int8, chain: int8}\n  - {id: kron-int4, chain: 'kron,int4', options: {rank: 2}}\n"),
        "--dry-run");
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.err().contains("release plan: 3 variants from stories260K.bin"), r.err());
    assertTrue(r.err().matches("(?s).*kron-int4\\s+build\\s+not built yet \\(kron,int4 \\{rank=2\\}\\).*"), r.err());
    assertTrue(r.err().contains("dry run: nothing built, reported or published"), r.err());
    assertTrue(Files.notExists(tmp.resolve("build")) && Files.notExists(tmp.resolve("hub")), "nothing built or published");
  }
}
