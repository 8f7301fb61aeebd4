package dev.edgelm.it.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.hub.testing.RegistryProcess;
import dev.edgelm.it.testing.EdgelmCommand;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code edgelm release --recipe}: a stories260K recipe with fp32, int8, int4-gptq, kron and
 * kron+int4 builds, reports and publishes to a layout directory and to a real registry (Debian's
 * docker-registry on 127.0.0.1); a rerun after one variant's options changed rebuilds exactly that
 * one; {@code edgelm select} explains its choice among all five. Needs ../shared.
 */
class ReleaseIT {
  private static final Duration TIMEOUT = Duration.ofMinutes(5);
  private static final Pattern BUILT = Pattern.compile("\\] built (\\S+) to ");
  private static final Pattern REUSED = Pattern.compile("\\] reused (\\S+) \\(inputs unchanged\\)");
  @TempDir Path tmp;

  private String recipe(int kronRank) {
    return String.join("\n",
        "base: " + SharedAssets.require("models/stories260K/stories260K.bin"),
        "work: build",
        "calibration: {text: " + SharedAssets.require("corpora/tinyshakespeare.txt") + ", sequences: 8, length: 128}",
        "evaluation: {text: " + SharedAssets.require("corpora/tinystories-valid.head32k.txt") + ", doc-separator: '<|endoftext|>', speed: false}",
        "variants:",
        "  - id: fp32",
        "  - {id: int8, chain: int8}",
        "  - {id: int4-gptq, chain: int4, options: {algo: gptq}}",
        "  - {id: kron, chain: kron, options: {rank: " + kronRank + "}}",
        "  - {id: kron-int4, chain: 'kron,int4', options: {rank: 2, int4.group-size: 32}}",
        "");
  }

  private EdgelmCommand.Result release(String to) throws Exception {
    return EdgelmCommand.run(tmp, TIMEOUT, "release", "--recipe", tmp.resolve("release.yaml").toString(), "--to", to,
        "--store", tmp.resolve("publisher-store").toString()).assertSuccess();
  }

  private static List<String> ids(Pattern p, String err) {
    Matcher m = p.matcher(err);
    List<String> out = new java.util.ArrayList<>();
    while (m.find()) {
      out.add(m.group(1));
    }
    return out;
  }

  @Test
  void release_buildsReportsPublishes_thenRebuildsOnlyWhatChanged() throws Exception {
    Files.writeString(tmp.resolve("release.yaml"), recipe(2));
    String layout = "oci:" + tmp.resolve("hub/stories260k") + ":1";
    EdgelmCommand.Result first = release(layout);
    assertEquals(List.of("int8", "int4-gptq", "kron", "kron-int4"), ids(BUILT, first.err()), first.err());
    assertTrue(first.err().contains("published 5 variants to " + layout), first.err());
    Path png = tmp.resolve("build/report/quality.png"); // speed.png is not drawn: the recipe turns speed off
    byte[] head = Files.readAllBytes(png);
    assertTrue(head.length > 5_000 && head[0] == (byte) 0x89 && head[1] == 'P' && head[2] == 'N' && head[3] == 'G',
        "quality.png is a PNG of " + head.length + " bytes");
    java.awt.image.BufferedImage image = javax.imageio.ImageIO.read(png.toFile());
    assertTrue(image != null && image.getWidth() >= 400 && image.getHeight() >= 300, "quality.png decodes to a chart: " + image);
    assertTrue(Files.readString(tmp.resolve("build/report/report.md")).contains("kron-int4"));

    try (RegistryProcess registry = RegistryProcess.start(tmp.resolve("registry"))) {
      String remote = registry.authority() + "/models/stories260k:1";
      EdgelmCommand.Result toRegistry = release(remote);
      assertEquals(List.of(), ids(BUILT, toRegistry.err()), toRegistry.err());
      assertEquals(List.of("int8", "int4-gptq", "kron", "kron-int4"), ids(REUSED, toRegistry.err()));
      assertTrue(toRegistry.out().strip().startsWith(remote + "@sha256:"), toRegistry.out());
    }

    Files.writeString(tmp.resolve("release.yaml"), recipe(3));
    EdgelmCommand.Result dry = EdgelmCommand.run(tmp, TIMEOUT, "release", "--recipe", tmp.resolve("release.yaml").toString(),
        "--to", layout, "--dry-run").assertSuccess();
    assertTrue(dry.err().matches("(?s).*\\n  kron\\s+build\\s+inputs changed since it was built.*"), dry.err());
    assertTrue(dry.err().matches("(?s).*\\n  kron-int4\\s+reuse\\s+inputs unchanged.*"), dry.err());
    EdgelmCommand.Result rerun = release(layout);
    assertEquals(List.of("kron"), ids(BUILT, rerun.err()), rerun.err());
    assertEquals(List.of("int8", "int4-gptq", "kron-int4"), ids(REUSED, rerun.err()));

    EdgelmCommand.Result select = EdgelmCommand.run(tmp, TIMEOUT, "select", layout, "--explain", "--store",
        tmp.resolve("publisher-store").toString(), "--cache-dir", tmp.resolve("host").toString()).assertSuccess();
    assertTrue(select.out().contains(", 5 variants\n") && select.out().contains("chosen  "), select.out());
    for (String id : List.of("fp32", "int8", "int4-gptq", "kron", "kron-int4")) {
      assertTrue(Pattern.compile("(?m)^  (#\\d+|-)\\s+" + Pattern.quote(id) + "\\s{2,}\\w+").matcher(select.out()).find(),
          "a verdict for " + id + " in:\n" + select.out());
    }
  }
}
