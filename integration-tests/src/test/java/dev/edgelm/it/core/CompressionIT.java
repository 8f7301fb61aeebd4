package dev.edgelm.it.core;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.engine.testing.SharedAssets;
import dev.edgelm.it.testing.EdgelmCommand;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A quantized and a Kronecker-factored variant of stories260K through the real launcher: compress,
 * one report over both (its Markdown and its PNG charts), and generation from the factored package.
 */
class CompressionIT {
  private static final Duration LIMIT = Duration.ofMinutes(5);

  @TempDir Path tmp;

  @Test
  void int4AndKron_areMeasuredInOneReport_andTheKronPackageGenerates() throws Exception {
    Path model = SharedAssets.require("models/stories260K/stories260K.bin");
    Path text = SharedAssets.require("corpora/tinystories-valid.head32k.txt");
    Path calib = SharedAssets.require("corpora/tinyshakespeare.txt");
    Path fp32 = tmp.resolve("fp32");
    Path int4 = tmp.resolve("int4");
    Path kron = tmp.resolve("kron");
    EdgelmCommand.run(tmp, LIMIT, "import", model.toString(), "--out", fp32.toString()).assertSuccess();
    EdgelmCommand.run(tmp, LIMIT, "compress", "--model", fp32.toString(), "--method", "int4", "--out", int4.toString())
        .assertSuccess();
    EdgelmCommand.Result k = EdgelmCommand.run(tmp, LIMIT, "compress", "--model", fp32.toString(), "--method", "kron",
        "--preset", "auto", "--target-ratio", "0.7", "--calib", calib.toString(), "--calib-sequences", "16", "--out",
        kron.toString()).assertSuccess();
    assertTrue(k.err().contains("with permutations") && k.err().contains("refit on activations"), k.err());

    Path report = tmp.resolve("report");
    EdgelmCommand.run(tmp, LIMIT, "report", "--base", fp32.toString(), int4.toString(), kron.toString(), "--text",
        text.toString(), "--doc-separator", "<|endoftext|>", "--decode-rounds", "1", "--decode-tokens", "16", "--out",
        report.toString()).assertSuccess();
    String md = Files.readString(report.resolve("report.md"));
    assertTrue(md.contains("| int4 ") && md.contains("| kron-auto-als | kron "), md);
    assertTrue(md.contains("| layers.0.mlp.up | ") || md.contains("| layers.1.mlp.up | "), "per-matrix figures: " + md);
    for (String chart : new String[] {"quality.png", "speed.png"}) {
      Path png = report.resolve(chart);
      assertTrue(md.contains("](" + chart + ")"), "the Markdown links " + chart + ": " + md);
      assertTrue(Files.size(png) > 10_000, chart + " is " + Files.size(png) + " bytes");
      BufferedImage img = ImageIO.read(png.toFile());
      assertTrue(img != null && img.getWidth() >= 640 && img.getHeight() >= 400, chart + " is a PNG ImageIO reads");
    }
    assertTrue(md.contains("- Pareto frontier, size against perplexity ratio: "), md);

    JsonNode descriptor = new ObjectMapper().readTree(kron.resolve("variant.json").toFile());
    JsonNode quality = descriptor.path("quality");
    assertTrue(quality.path("perplexity").asDouble() > 0, descriptor.toPrettyString());
    assertTrue(quality.path("perplexityRatio").asDouble() > 1.0, "a factored model is not better than its base: " + quality);
    JsonNode speed = descriptor.path("speed").path(0);
    assertTrue(speed.path("decodeTokensPerSecond").asDouble() > 0, "decode speed recorded: " + descriptor.toPrettyString());
    assertTrue(speed.path("memoryBandwidthBytesPerSecond").asDouble() > 0 && speed.path("cpuFeatures").size() > 0,
        "with the machine facts the daemon's selector needs to reuse it: " + speed);
    assertEquals("kron", descriptor.path("method").path("name").asText());

    EdgelmCommand.Result g = EdgelmCommand.run(tmp, LIMIT, "generate", "--model", kron.toString(), "--prompt",
        "Once upon a time", "--max-tokens", "16").assertSuccess();
    assertFalse(g.out().isBlank(), "the factored package generates text");
  }
}
