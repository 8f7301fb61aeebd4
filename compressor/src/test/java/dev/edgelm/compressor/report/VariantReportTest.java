package dev.edgelm.compressor.report;

import dev.edgelm.compressor.VariantJob;
import dev.edgelm.compressor.Method;
import dev.edgelm.compressor.Compressor;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.edgelm.compressor.UsageException;
import dev.edgelm.compressor.importer.Digests;
import dev.edgelm.compressor.quant.Algorithm;
import dev.edgelm.compressor.quant.QuantizationOptions;
import dev.edgelm.compressor.quant.Quantizer;
import dev.edgelm.compressor.testing.TestPackages;
import dev.edgelm.engine.ModelPackage;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VariantReportTest {
  @TempDir Path tmp;

  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-11-21T12:00:00Z"), ZoneOffset.UTC);

  @Test
  void run_writesReportFilesAndRecordsQualityAndSpeedInEveryDescriptor() throws IOException {
    Path fp32 = TestPackages.importFp32(TestPackages.STORIES, tmp.resolve("fp32"));
    Path int8 = tmp.resolve("int8");
    Compressor.compress(new VariantJob(fp32, int8, null, false, null, null),
        List.of(new Method.Quantization(QuantizationOptions.int8(Algorithm.RTN))), line -> {});
    Path text = TestPackages.prefix(TestPackages.TINYSTORIES, 3000, tmp.resolve("eval.txt"));
    Path out = tmp.resolve("report");

    VariantReport.Report r = VariantReport.run(fp32, List.of(int8), new VariantReport.Options(text, TestPackages.DOC_SEPARATOR,
        0, 0, 2, new DecodeSpeed.Options(16, 1, 1, 300).withMachine(new DecodeSpeed.Machine(48.2e9, List.of("avx2", "avx512f"))),
        true, out, CLOCK), line -> {});

    assertEquals(1, r.variants().size());
    VariantReport.Entry e = r.variants().get(0);
    assertNotNull(e.speed());
    assertTrue(e.speed().decodeTokensPerSecond() > 0 && e.speed().peakRssBytes() > 0, e.speed().toString());
    String md = Files.readString(out.resolve("report.md"));
    assertTrue(md.contains("| int8 | int8 (algo=rtn) | 260,032 |"), md);
    assertTrue(md.contains("2026-11-21T12:00:00Z"), md);
    JsonNode json = new ObjectMapper().readTree(out.resolve("report.json").toFile());
    assertEquals(2, json.get("variants").size());
    assertEquals(e.perplexityRatio(), json.get("variants").get(1).get("perplexity_ratio").asDouble(), 1e-12);
    BufferedImage png = ImageIO.read(out.resolve("quality.png").toFile());
    assertTrue(png.getWidth() > 100 && png.getHeight() > 100);
    assertNotNull(ImageIO.read(out.resolve("speed.png").toFile()), "speed was measured, so it is drawn");

    for (Path dir : List.of(fp32, int8)) {
      VariantDescriptor d = ModelPackage.open(dir).descriptor();
      assertTrue(d.getQuality().getEvalTokens() > 0, dir.toString());
      assertEquals(1, d.getSpeedCount());
      assertEquals(1, d.getSpeed(0).getThreads());
      assertEquals(48.2e9, d.getSpeed(0).getMemoryBandwidthBytesPerSecond(), "the selector rescales by it: " + dir);
      assertEquals(List.of("avx2", "avx512f"), d.getSpeed(0).getCpuFeaturesList());
      for (PackageFile f : d.getFilesList()) {
        assertEquals(f.getDigest(), Digests.sha256(dir.resolve(f.getPath())), "digests stay true: " + f.getPath());
      }
    }
    assertEquals(1.0, ModelPackage.open(fp32).descriptor().getQuality().getPerplexityRatio());
  }

  @Test
  void run_variantWithAnotherTokenizer_isRefused() {
    Path stories = TestPackages.importFp32(TestPackages.STORIES, tmp.resolve("stories"));
    Path gpt2 = TestPackages.importFp32(TestPackages.GPT2, tmp.resolve("gpt2"));
    UsageException e = assertThrows(UsageException.class, () -> VariantReport.run(stories, List.of(gpt2),
        new VariantReport.Options(tmp.resolve("none.txt"), null, 0, 0, 1, null, false, tmp.resolve("r"), CLOCK), line -> {}));
    assertTrue(e.getMessage().contains("does not carry the tokenizer of the base"), e.getMessage());
  }
}
