package dev.edgelm.daemon.internal.select;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Kernel;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The decode speed model's per-step term against the figures it was fitted to (docs/BENCHMARKS.md). */
class DecodeSpeedModelTest {
  private static final Set<String> EPYC = Set.of("avx2", "avx512f", "avx512bw", "avx512_vnni");
  /** The build host's single-thread copy bandwidth under load (edgelm select measured 25 GB/s). */
  private static final double LOADED_BW = 25e9;
  private static final double QUIET_BW = 48e9;

  private static double tokensPerSecond(double weightBytes, long kvPerToken, int context, Kernel k, double bw, int layers, String family) {
    double bytes = DecodeSpeedModel.bytesPerToken((long) weightBytes, kvPerToken, context);
    double eff = DecodeSpeedModel.cpu(k, 4, "x86_64", EPYC).value();
    return DecodeSpeedModel.tokensPerSecond(bytes, bw * DecodeSpeedModel.STREAMING_SHARE, eff, DecodeSpeedModel.stepSeconds(layers, family));
  }

  @Test
  void stepSeconds_fiveLlamaLayers_setThePaceOfStories260K() {
    // stories260K int8: 276 kB of weights, 1,280 KV bytes a token, five Llama layers; `edgelm bench` measured 919-1,560 tok/s
    double withLayers = tokensPerSecond(276_492, 1280, 384, Kernel.INT8, LOADED_BW, 5, "llama");
    assertTrue(withLayers > 919 / 1.3 && withLayers < 1560 * 1.3, "predicted " + withLayers);
    double fixedStep = tokensPerSecond(276_492, 1280, 384, Kernel.INT8, LOADED_BW, 0, null);
    assertTrue(fixedStep > 4000, "without the layer count the old fixed step stays: " + fixedStep);
  }

  @Test
  void stepSeconds_scalesWithLayersAndFamily() {
    assertEquals(0.05e-3 + 5 * 0.13e-3, DecodeSpeedModel.stepSeconds(5, "llama"), 1e-12);
    assertEquals(0.05e-3 + 12 * 0.065e-3, DecodeSpeedModel.stepSeconds(12, "gpt2"), 1e-12);
    assertEquals(DecodeSpeedModel.STEP_SECONDS, DecodeSpeedModel.stepSeconds(0, "llama"), 0, "unknown layers: the fixed step");
  }

  @Test
  void stepSeconds_gpt2Tiny_matchesItsQuietMeasurement() {
    // gpt2-tiny: 0.7 MB fp32, two GPT-2 layers, 4,660 tok/s on the quiet build host
    double tps = tokensPerSecond(0.7e6, 2 * 2 * 64 * 4, 256, Kernel.FP32, QUIET_BW, 2, "gpt2");
    assertTrue(tps > 4660 / 1.3 && tps < 4660 * 1.3, "predicted " + tps);
  }

  @Test
  void stepSeconds_bandwidthBoundGpt2Small_barelyMoves() {
    // gpt2-small at a 1024-token context on the quiet host: 46.9 / 145.1 / 187.3 tok/s measured in fp32 / int8 / int4
    long kv = 2L * 12 * 768 * 4;
    assertEquals(46.9, tokensPerSecond(497.8e6, kv, 1024, Kernel.FP32, QUIET_BW, 12, "gpt2"), 46.9 * 0.1);
    assertEquals(145.1, tokensPerSecond(130e6, kv, 1024, Kernel.INT8, QUIET_BW, 12, "gpt2"), 145.1 * 0.15);
    assertEquals(187.3, tokensPerSecond(85e6, kv, 1024, Kernel.INT4, QUIET_BW, 12, "gpt2"), 187.3 * 0.15);
  }
}
