package dev.edgelm.daemon.internal.select;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.edgelm.daemon.internal.select.DecodeSpeedModel.Kernel;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * The decode speed model's per-step term against the quiet-host measurements it was fitted to
 * (docs/BENCHMARKS.md, docs/DEPLOY.md): tiny models, where the step and not the weights sets the
 * pace. On a loaded host the same decodes run 2-8x slower (docs/BENCHMARKS.md, 2026-12-03); that is
 * contention, which the model does not see, not a per-layer step cost (a step cost fitted to loaded
 * runs, 0.13 ms a Llama layer, would predict stories260K at ~1,300 tok/s on the quiet host that
 * decodes it at 4,886).
 */
class DecodeSpeedModelTest {
  private static final Set<String> EPYC = Set.of("avx2", "avx512f", "avx512bw", "avx512_vnni");
  /** The build host's single-thread copy bandwidth when quiet. */
  private static final double QUIET_BW = 48.2e9;

  private static double tokensPerSecond(long weightBytes, long kvPerToken, int context, Kernel k) {
    double bytes = DecodeSpeedModel.bytesPerToken(weightBytes, kvPerToken, context);
    double eff = DecodeSpeedModel.cpu(k, 4, "x86_64", EPYC).value();
    return DecodeSpeedModel.tokensPerSecond(bytes, QUIET_BW * DecodeSpeedModel.STREAMING_SHARE, eff);
  }

  @Test
  void predict_stories260KOnAQuietHost_withinThirtyPercentOfItsMeasurement() {
    // stories260K (variant.json of `edgelm import` / `compress`): fp32 1,040,444 and int8 276,492 weight bytes, 1,280 KV bytes a
    // token, context 512; `edgelm report` measured 4,886 and 4,483 tok/s on the quiet build host (docs/DEPLOY.md)
    assertEquals(4886, tokensPerSecond(1_040_444, 1280, 512, Kernel.FP32), 4886 * 0.3);
    assertEquals(4483, tokensPerSecond(276_492, 1280, 512, Kernel.INT8), 4483 * 0.3);
  }

  @Test
  void predict_gpt2TinyOnAQuietHost_withinThirtyPercentOfItsMeasurement() {
    // gpt2-tiny: 0.7 MB fp32, two layers of 64 wide, context 256: 4,662 tok/s (docs/BENCHMARKS.md)
    assertEquals(4662, tokensPerSecond(700_000, 2 * 2 * 64 * 4, 256, Kernel.FP32), 4662 * 0.3);
  }

  @Test
  void predict_bandwidthBoundGpt2Small_matchesItsQuietMeasurements() {
    // 46.9 / 145.1 / 187.3 tok/s in fp32 / int8 / int4 at a 1024-token context (docs/BENCHMARKS.md)
    long kv = 2L * 12 * 768 * 4;
    assertEquals(46.9, tokensPerSecond(497_759_408, kv, 1024, Kernel.FP32), 46.9 * 0.1);
    assertEquals(145.1, tokensPerSecond(127_696_108, kv, 1024, Kernel.INT8), 145.1 * 0.1);
    assertEquals(187.3, tokensPerSecond(82_769_044, kv, 1024, Kernel.INT4), 187.3 * 0.1);
  }
}
