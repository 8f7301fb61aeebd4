package dev.edgelm.compressor.report;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportFilesTest {
  @TempDir Path tmp;

  @Test
  void naturalOrder_comparesRunsOfDigitsAsNumbers() {
    List<String> keys = new ArrayList<>(List.of("layer.layers.10.mlp.up", "layer.tok_embed", "layer.layers.2.attn.qkv.q",
        "layer.layers.2.attn.qkv.k", "layer.layers.1.mlp.down"));
    keys.sort(ReportFiles::naturalOrder);
    assertEquals(List.of("layer.layers.1.mlp.down", "layer.layers.2.attn.qkv.k", "layer.layers.2.attn.qkv.q",
        "layer.layers.10.mlp.up", "layer.tok_embed"), keys);
  }

  private static VariantReport.Entry entry(String id, long bytes, double ppl, double kl, double tokensPerSecond) {
    DecodeSpeed.Measurement speed = Double.isNaN(tokensPerSecond) ? null
        : new DecodeSpeed.Measurement(tokensPerSecond, 5, 8, 16, 1, 200L << 20, "test host", new DecodeSpeed.Machine(0, List.of()));
    return new VariantReport.Entry(id, Path.of(id), id, Map.of(), 1000, bytes,
        new VariantComparison.Scores(1000, Math.log(ppl), ppl, 1 - kl, kl), ppl / 10.0, speed);
  }

  /** fp32 is big and best; int8 and int4 trade quality for size; "worse" is dominated by int8 on every figure. */
  private static VariantReport.Report report(boolean withSpeed) {
    double nan = Double.NaN;
    return new VariantReport.Report("stories", Path.of("eval.txt"), "sha256:00", "per document", 1000, "test host",
        Instant.parse("2026-12-03T00:00:00Z"),
        entry("fp32", 1_040_000, 10.0, 0.0, withSpeed ? 900 : nan),
        List.of(entry("int8", 300_000, 10.1, 0.002, withSpeed ? 1500 : nan),
            entry("worse", 500_000, 10.5, 0.010, withSpeed ? 1200 : nan),
            entry("int4", 180_000, 10.6, 0.020, withSpeed ? 1400 : nan)));
  }

  private static BufferedImage readPng(Path file) throws IOException {
    assertTrue(Files.size(file) > 10_000, file + " is " + Files.size(file) + " bytes");
    byte[] magic = Files.readAllBytes(file);
    assertEquals((byte) 0x89, magic[0]);
    assertEquals("PNG", new String(magic, 1, 3, java.nio.charset.StandardCharsets.US_ASCII));
    BufferedImage img = ImageIO.read(file.toFile());
    assertNotNull(img, "ImageIO cannot read " + file);
    Set<Integer> colours = new HashSet<>();
    for (int y = 0; y < img.getHeight(); y += 3) {
      for (int x = 0; x < img.getWidth(); x += 3) {
        colours.add(img.getRGB(x, y));
      }
    }
    assertTrue(colours.size() > 20, file + " has only " + colours.size() + " colours: nothing drawn");
    return img;
  }

  @Test
  void write_drawsQualityAndSpeedChartsAndLinksThemWithTheirFrontiers() throws IOException {
    ReportFiles.write(report(true), tmp);

    BufferedImage quality = readPng(tmp.resolve(ReportCharts.QUALITY));
    assertEquals(ReportCharts.WIDTH, quality.getWidth());
    assertEquals(ReportCharts.QUALITY_HEIGHT, quality.getHeight());
    BufferedImage speed = readPng(tmp.resolve(ReportCharts.SPEED));
    assertEquals(ReportCharts.SPEED_HEIGHT, speed.getHeight());

    String md = Files.readString(tmp.resolve(ReportFiles.MARKDOWN));
    assertTrue(md.contains("![perplexity ratio and KL against package size](quality.png)"), md);
    assertTrue(md.contains("![decode speed against package size](speed.png)"), md);
    assertTrue(md.contains("- Pareto frontier, size against perplexity ratio: int4, int8, fp32\n"), md);
    assertTrue(md.contains("- Pareto frontier, size against KL(base‖variant): int4, int8, fp32\n"), md);
    assertTrue(md.contains("- Pareto frontier, size against decode tokens/s (1 thread): int4, int8\n"), md);
    JsonNode json = new ObjectMapper().readTree(tmp.resolve(ReportFiles.JSON).toFile());
    assertEquals("[\"int4\",\"int8\"]", json.get("pareto_frontiers").get("decode_tokens_per_second").toString());
  }

  @Test
  void write_withoutSpeed_drawsNoSpeedChartAndRemovesAStaleOne() throws IOException {
    ReportFiles.write(report(true), tmp); // an earlier report that drew speed.png
    assertTrue(Files.exists(tmp.resolve(ReportCharts.SPEED)));

    ReportFiles.write(report(false), tmp);

    readPng(tmp.resolve(ReportCharts.QUALITY));
    assertFalse(Files.exists(tmp.resolve(ReportCharts.SPEED)), "a speed chart from an earlier report would be linked to nothing");
    String md = Files.readString(tmp.resolve(ReportFiles.MARKDOWN));
    assertFalse(md.contains("speed.png"), md);
    assertTrue(md.contains("Decode speed was not measured"), md);
  }

  @Test
  void write_withoutSpeed_leavesASpeedPngThatNoReportOfOursDrew() throws IOException {
    Files.write(tmp.resolve(ReportCharts.SPEED), new byte[] {1, 2, 3}); // the user's file, not an earlier report's

    ReportFiles.write(report(false), tmp);

    assertTrue(Files.exists(tmp.resolve(ReportCharts.SPEED)), "a speed.png no edgelm report drew is not ours to delete");
    assertFalse(Files.readString(tmp.resolve(ReportFiles.MARKDOWN)).contains("speed.png"));
  }
}
