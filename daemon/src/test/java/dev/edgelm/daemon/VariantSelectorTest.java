package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.daemon.testing.Hosts;
import dev.edgelm.daemon.testing.Releases;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.Release;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.SpeedMeasurement;
import dev.edgelm.proto.v1.VariantDescriptor;
import dev.edgelm.proto.v1.VariantOutcome;
import dev.edgelm.proto.v1.VariantSelection;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Variant selection over simulated hosts: the same release (shaped like a 124M-parameter model in
 * fp32, int8, two int4 and an fp16 CUDA variant; see {@link Releases#gpt2Small()}) on each profile,
 * with the variant each must choose and the words its reason must carry.
 */
class VariantSelectorTest {
  private static final Clock CLOCK = Clock.fixed(Instant.parse("2026-01-02T03:04:05Z"), ZoneOffset.UTC);
  private static final VariantSelector SELECTOR = VariantSelector.create(VariantSelector.Options.INDEX_ONLY.withClock(CLOCK));
  /** One stream at the variants' full context (1024 tokens), no cache budget beyond the host's memory. */
  private static final SelectionPolicy ONE_STREAM = SelectionPolicy.DEFAULTS.withConcurrency(1);

  /**
   * One simulated host and what it must choose.
   *
   * @param rejected variant id → words its rejection must carry
   */
  record Profile(String name, HostCapabilities host, SelectionPolicy policy, String chosen, String reason, Map<String, String> rejected) {
    @Override
    public String toString() {
      return name;
    }
  }

  static Stream<Profile> profiles() {
    return Stream.of(
        new Profile("select_avx512Vnni_prefersInt4", Hosts.x86(Hosts.AVX512_VNNI).build(), ONE_STREAM,
            "int4-g32", "fastest: ", Map.of("int4-g128", "perplexity ratio 1.310 is above the quality floor",
                "fp16-cuda", "needs execution provider cuda")),
        new Profile("select_widerSpeedTolerance_prefersBetterQualityInt8", Hosts.x86(Hosts.AVX512_VNNI).build(),
            ONE_STREAM.withSpeedTolerance(0.25), "int8", "within 25% of the fastest (int4-g32", Map.of()),
        new Profile("select_noVnni_prefersInt4", Hosts.x86(Hosts.AVX2).build(), ONE_STREAM,
            "int4-g32", "fastest: ", Map.of("int4-g128", "quality floor")),
        new Profile("select_x86WithoutAvx2_rejectsAvx2VariantAndDequantizesInt4", Hosts.x86(java.util.Set.of("sse4_2", "avx")).build(),
            ONE_STREAM, "int4-g32", "needs int8 dot products; dequantizes to fp32",
            Map.of("int4-g128", "needs CPU feature avx2, which this x86_64 CPU lacks; perplexity ratio 1.310")),
        new Profile("select_arm64Dotprod_prefersInt4", Hosts.arm64(java.util.Set.of("asimd", "dotprod")).build(), ONE_STREAM,
            "int4-g32", "int4 MatMulNBits accuracy_level=4 with dotprod", Map.of("int4-g32", "")),
        new Profile("select_arm64I8mm_prefersInt4", Hosts.arm64(java.util.Set.of("asimd", "dotprod", "i8mm")).build(), ONE_STREAM,
            "int4-g32", "int4 MatMulNBits accuracy_level=4 with i8mm", Map.of()),
        new Profile("select_arm64WithoutDotprod_prefersInt4DequantizedToFp32", Hosts.arm64(java.util.Set.of("asimd")).build(), ONE_STREAM,
            "int4-g32", "needs int8 dot products; dequantizes to fp32", Map.of()),
        new Profile("select_cudaProvider_prefersCudaVariant", Hosts.x86(Hosts.AVX2).onnxRuntime("1.28.0", "cpu", "cuda").gpu(8L << 30).build(),
            ONE_STREAM, "fp16-cuda", "on cuda", Map.of()),
        new Profile("select_cudaProviderButSmallGpu_fallsBackToCpu",
            Hosts.x86(Hosts.AVX2).onnxRuntime("1.28.0", "cpu", "cuda").gpu(128L << 20).build(), ONE_STREAM,
            "int4-g32", "fastest", Map.of("fp16-cuda", "of GPU memory; the GPU has 128 MiB free")),
        new Profile("select_tinyMemory_onlyInt4Fits", Hosts.x86(Hosts.AVX512_VNNI).memory(256L << 20).build(), ONE_STREAM,
            "int4-g32", "needs 225 MiB of a 256 MiB budget",
            Map.of("int8", "more than the memory budget of 256 MiB (usable memory: MemAvailable)", "fp32", "weights 474 MiB")),
        new Profile("select_cgroupLimitedContainer_fitsTheCgroupNotTheHost",
            Hosts.x86(Hosts.AVX2).memory(30L << 30).cgroup(512L << 20, 100L << 20).build(), ONE_STREAM.withConcurrency(2),
            "int4-g32", "fastest", Map.of("fp32", "(usable memory: cgroup limit 512 MiB less 100 MiB in use)")),
        new Profile("select_cacheBudgetTighterThanHost_namesTheBudgetKey", Hosts.x86(Hosts.AVX512_VNNI).build(),
            ONE_STREAM.withMemoryBudgetBytes(300L << 20), "int4-g32", "needs 225 MiB of a 300 MiB budget",
            Map.of("fp32", "more than the memory budget of 300 MiB (cache.memory_budget)")),
        new Profile("select_oldOnnxRuntime_rejectsContribOpsItLacks", Hosts.x86(Hosts.AVX2).onnxRuntime("1.16.3", "cpu", "cuda").gpu(8L << 30).build(),
            ONE_STREAM, "int8", "fastest", Map.of("int4-g32", "com.microsoft:MatMulNBits (CPU kernel since ONNX Runtime 1.17)",
                "fp16-cuda", "needs ONNX Runtime 1.17 or newer; this daemon has 1.16.3")),
        new Profile("select_strictQualityFloor_prefersInt8", Hosts.x86(Hosts.AVX2).build(), ONE_STREAM.withMaxPerplexityRatio(1.01),
            "int8", "fastest", Map.of("int4-g32", "perplexity ratio 1.045 is above the quality floor (select.max_perplexity_ratio 1.01)")),
        new Profile("select_noQualityFloor_prefersFastestInt4", Hosts.x86(Hosts.AVX2).build(), ONE_STREAM.withMaxPerplexityRatio(0),
            "int4-g128", "fastest", Map.of()),
        new Profile("select_pinnedVariant_isChosenWithWarnings", Hosts.x86(Hosts.AVX512_VNNI).memory(256L << 20).build(),
            ONE_STREAM.withPinnedVariant("int8"), "int8", "pinned by the operator; ", Map.of()),
        new Profile("select_nothingFits_explainsEveryVariant", Hosts.x86(Hosts.AVX512_VNNI).memory(64L << 20).build(), ONE_STREAM,
            null, "no variant of registry.test:5000/models/gpt2-small:stable suits this host: fp32: needs",
            Map.of("int4-g32", "more than the memory budget of 64.0 MiB", "fp16-cuda", "needs execution provider cuda")));
  }

  @Test
  void select_structuredChainAnnotation_readsTheAccuracyLevelFromIt() {
    HostCapabilities arm = Hosts.arm64(java.util.Set.of("asimd", "dotprod")).build();
    for (int level : new int[] {4, 0}) {
      String chain = "{\"steps\":[{\"name\":\"kron\",\"kronecker\":{\"preset\":\"tq-gpt2\"}},"
          + "{\"name\":\"int4\",\"quantization\":{\"bits\":4,\"algo\":\"rtn\",\"groupSize\":32,\"accuracyLevel\":" + level + "}}]}";
      Selection s = SELECTOR.select(Releases.release("registry.test:5000/models/gpt2-small:stable",
          Releases.variant("fp32", "fp32").weights(497_000_000L, Releases.GPT2_KV),
          Releases.variant("kron-int4", "kron,int4").weights(60_000_000L, Releases.GPT2_KV).ratio(1.05)
              .ops("ai.onnx:MatMul", "ai.onnx:Gather", "com.microsoft:MatMulNBits").chain(chain)), arm, ONE_STREAM);
      assertEquals(Optional.of("kron-int4"), s.chosen().map(Selection.Verdict::id), s.explain());
      assertEquals(level == 4, s.reason().contains("accuracy_level=4 with dotprod"), level + ": " + s.reason());
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("profiles")
  void select_profile_choosesExpectedVariantWithReason(Profile p) {
    Selection s = SELECTOR.select(Releases.gpt2Small(), p.host(), p.policy());
    String explained = s.explain();
    assertEquals(Optional.ofNullable(p.chosen()), s.chosen().map(Selection.Verdict::id), explained);
    assertTrue(s.reason().contains(p.reason()), "reason '" + s.reason() + "' should contain '" + p.reason() + "'\n" + explained);
    p.rejected().forEach((id, words) -> {
      Selection.Verdict v = s.verdict(id).orElseThrow();
      if (words.isEmpty()) {
        assertTrue(v.outcome() != Selection.Outcome.REJECTED, id + " is not rejected\n" + explained);
      } else {
        assertEquals(Selection.Outcome.REJECTED, v.outcome(), id + "\n" + explained);
        assertTrue(v.reason().contains(words), id + ": '" + v.reason() + "' should contain '" + words + "'\n" + explained);
      }
    });
    assertEquals(5, s.verdicts().size(), "every variant has a verdict");
    for (Selection.Verdict v : s.verdicts()) {
      assertTrue(!v.reason().isBlank(), v.id() + " has a reason");
    }
    if (p.chosen() == null) {
      NoSuitableVariantException e = s.failure();
      assertTrue(e.getMessage().contains("int8: needs"), e.getMessage());
    }
  }

  @Test
  void select_verdicts_areOrderedChosenCandidatesRejected() {
    Selection s = SELECTOR.select(Releases.gpt2Small(), Hosts.x86(Hosts.AVX2).build(), ONE_STREAM);
    List<Selection.Outcome> outcomes = s.verdicts().stream().map(Selection.Verdict::outcome).toList();
    assertEquals(List.of(Selection.Outcome.CHOSEN, Selection.Outcome.CANDIDATE, Selection.Outcome.CANDIDATE, Selection.Outcome.REJECTED,
        Selection.Outcome.REJECTED), outcomes, s.explain());
    assertEquals(List.of(1, 2, 3, 0, 0), s.verdicts().stream().map(Selection.Verdict::rank).toList());
    Selection.Verdict second = s.verdicts().get(1);
    assertTrue(second.reason().startsWith("ranked #2: "), second.reason());
    assertTrue(second.predictedTokensPerSecond() < s.verdicts().get(0).predictedTokensPerSecond());
  }

  @Test
  void select_kroneckerVariant_isPredictedAtItsMeasuredSpeed() {
    // gpt2-small's tq-gpt2 variant: 321,930,536 weight bytes, measured 58.5-60.3 tok/s on the build host
    // (48.2 GB/s copy bandwidth, AVX-512 VNNI) where fp32 measured 43.8-48.6 (docs/BENCHMARKS.md).
    Selection s = SELECTOR.select(Releases.release("registry.test:5000/models/gpt2-small:kron",
            Releases.variant("fp32", "fp32").weights(497_759_232L, Releases.GPT2_KV),
            Releases.variant("kron-tq-gpt2", "kron").weights(321_930_536L, Releases.GPT2_KV)),
        Hosts.x86(Hosts.AVX512_VNNI).bandwidth(48.2e9).build(), ONE_STREAM);
    Selection.Verdict kron = s.verdicts().get(0);
    assertEquals("kron-tq-gpt2", s.chosen().orElseThrow().id(), s.explain());
    assertTrue(kron.reason().contains("Kronecker-factored"), kron.reason());
    assertEquals(59.4, kron.predictedTokensPerSecond(), 59.4 * 0.1, s.explain());
    assertEquals(46.2, s.verdicts().get(1).predictedTokensPerSecond(), 46.2 * 0.1, s.explain());
  }

  @Test
  void select_subspaceVariants_smallerHiddenSizeWinsOnBytesUnlessAboveTheQualityFloor() {
    // Shaped like synth gpt2-small at 20 % hidden reduction (768 -> 608): fp32 MatMuls over ~79 % of
    // the weight bytes and a narrower KV cache; the 30 % variant sits above the default floor of 1.15.
    long kv608 = Releases.GPT2_KV * 608 / 768;
    Selection s = SELECTOR.select(Releases.release("registry.test:5000/models/gpt2-small:subspace",
            Releases.variant("fp32", "fp32").weights(497_759_232L, Releases.GPT2_KV),
            Releases.variant("subspace-20", "subspace").weights(393_000_000L, kv608).ratio(1.12),
            Releases.variant("subspace-30", "subspace").weights(350_000_000L, Releases.GPT2_KV * 544 / 768).ratio(1.31)),
        Hosts.x86(Hosts.AVX2).build(), ONE_STREAM);
    assertEquals(Optional.of("subspace-20"), s.chosen().map(Selection.Verdict::id), s.explain());
    assertTrue(s.verdicts().get(0).predictedTokensPerSecond() > s.verdict("fp32").orElseThrow().predictedTokensPerSecond(), s.explain());
    Selection.Verdict tooLossy = s.verdict("subspace-30").orElseThrow();
    assertEquals(Selection.Outcome.REJECTED, tooLossy.outcome(), s.explain());
    assertTrue(tooLossy.reason().contains("perplexity ratio 1.310 is above the quality floor"), tooLossy.reason());
  }

  @Test
  void select_toProto_carriesTheDecisionForDescribe() {
    Selection s = SELECTOR.select(Releases.gpt2Small(), Hosts.x86(Hosts.AVX2).build(), ONE_STREAM);
    VariantSelection p = s.toProto();
    assertEquals("int4-g32", p.getChosen());
    assertEquals(s.chosen().orElseThrow().manifestDigest().toString(), p.getChosenManifestDigest());
    assertEquals(VariantOutcome.VARIANT_OUTCOME_CHOSEN, p.getVariants(0).getOutcome());
    assertEquals(5, p.getVariantsCount());
    assertTrue(p.getVariantsList().stream().allMatch(v -> !v.getReason().isEmpty()));
    assertEquals(1.045, p.getVariants(0).getPerplexityRatio(), 1e-9);
    assertEquals(CLOCK.millis(), p.getSelectedAtUnixMs());
    assertEquals(List.of("avx", "avx2", "fma", "sse4_2"), p.getHost().getCpuFeaturesList());
  }

  @Test
  void select_pinnedVariantMissing_isNotFound() {
    NotFoundException e = assertThrows(NotFoundException.class,
        () -> SELECTOR.select(Releases.gpt2Small(), Hosts.x86(Hosts.AVX2).build(), ONE_STREAM.withPinnedVariant("int3")));
    assertTrue(e.getMessage().contains("has no variant 'int3'") && e.getMessage().contains("int4-g32"), e.getMessage());
  }

  @Test
  void select_publishedMeasurementFromComparableHost_isRescaledByBandwidth() {
    VariantSelector.Descriptors measured = (release, entry) -> Optional.of(VariantDescriptor.newBuilder().setId(entry.id())
        .setMethod(Method.newBuilder().setName(entry.method()))
        .addSpeed(SpeedMeasurement.newBuilder().setDecodeTokensPerSecond(entry.id().equals("int8") ? 200 : 100).setThreads(1)
            .setHost("bench box").setMemoryBandwidthBytesPerSecond(40e9).addAllCpuFeatures(Hosts.AVX512_VNNI))
        .build());
    VariantSelector selector = VariantSelector.create(VariantSelector.Options.INDEX_ONLY.withDescriptors(measured).withClock(CLOCK));
    Selection s = selector.select(Releases.gpt2Small(), Hosts.x86(Hosts.AVX512_VNNI).bandwidth(20e9).build(), ONE_STREAM);
    Selection.Verdict int8 = s.verdict("int8").orElseThrow();
    assertEquals("int8", s.chosen().orElseThrow().id(), s.explain());
    assertEquals(100, int8.predictedTokensPerSecond(), 1e-6, "200 tok/s at 40 GB/s is 100 at 20 GB/s");
    assertEquals("descriptor measurement rescaled by bandwidth", int8.speedBasis());
    assertTrue(int8.reason().contains("measured 200.0 tok/s on bench box, x0.50"), int8.reason());

    Selection noVnni = selector.select(Releases.gpt2Small(), Hosts.x86(Hosts.AVX2).build(), ONE_STREAM);
    assertEquals("bandwidth model", noVnni.verdict("int8").orElseThrow().speedBasis(),
        "a VNNI host's int8 figure does not transfer to a host without VNNI");
  }

  @Test
  void select_onDeviceBenchmark_ranksByMeasuredSpeedAndCachesPerFingerprintAndDigest(@TempDir Path cache) {
    AtomicInteger runs = new AtomicInteger();
    VariantSelector.CandidateBenchmark bench = (release, entry, ep, tokens) -> {
      runs.incrementAndGet();
      return OptionalDouble.of(entry.id().equals("int8") ? 90 : 30);
    };
    VariantSelector selector = VariantSelector.create(VariantSelector.Options.INDEX_ONLY.withBenchmark(bench, cache).withClock(CLOCK));
    SelectionPolicy policy = ONE_STREAM.withBenchmark(2, 8);
    HostCapabilities host = Hosts.x86(Hosts.AVX2).build();
    Selection first = selector.select(Releases.gpt2Small(), host, policy);
    assertEquals("int8", first.chosen().orElseThrow().id(), first.explain());
    assertEquals("measured on this host", first.chosen().orElseThrow().speedBasis());
    assertTrue(first.reason().contains("90.0 tok/s measured on cpu (decoded 8 tokens here"), first.reason());
    assertEquals(2, runs.get(), "the top two candidates were benchmarked");

    Selection again = VariantSelector.create(VariantSelector.Options.INDEX_ONLY.withBenchmark(bench, cache).withClock(CLOCK))
        .select(Releases.gpt2Small(), host, policy);
    assertEquals("int8", again.chosen().orElseThrow().id());
    assertEquals(2, runs.get(), "cached per host fingerprint and variant digest");
    assertTrue(again.reason().contains("decoded 8 tokens here earlier"), again.reason());
  }

  @Test
  void select_benchmarkOnALoadedHost_scalesTheUnmeasuredPredictionsToo(@TempDir Path cache) {
    HostCapabilities host = Hosts.x86(Hosts.AVX2).build();
    Selection predicted = SELECTOR.select(Releases.gpt2Small(), host, ONE_STREAM);
    String top = predicted.chosen().orElseThrow().id();
    double topPredicted = predicted.chosen().orElseThrow().predictedTokensPerSecond();
    // The host is shared: the top candidate decodes at 30% of its prediction, like the build host at a load of 10 on 2 vCPUs.
    VariantSelector.CandidateBenchmark bench = (release, entry, ep, tokens) -> OptionalDouble.of(topPredicted * 0.3);
    Selection s = VariantSelector.create(VariantSelector.Options.INDEX_ONLY.withBenchmark(bench, cache).withClock(CLOCK))
        .select(Releases.gpt2Small(), host, ONE_STREAM.withBenchmark(1, 8));
    assertEquals(top, s.chosen().orElseThrow().id(), "an unmeasured runner-up does not win on an unscaled prediction\n" + s.explain());
    Selection.Verdict second = s.verdicts().stream().filter(v -> v.rank() == 2).findFirst().orElseThrow();
    assertEquals("bandwidth model scaled by this host's benchmarks", second.speedBasis(), s.explain());
    assertEquals(predicted.verdict(second.id()).orElseThrow().predictedTokensPerSecond() * 0.3, second.predictedTokensPerSecond(), 1e-6);
  }

  @Test
  void select_explain_isATableWithEveryVariant() {
    String text = SELECTOR.select(Releases.gpt2Small(), Hosts.x86(Hosts.AVX512_VNNI).build(), ONE_STREAM).explain();
    for (String id : List.of("fp32", "int8", "int4-g32", "int4-g128", "fp16-cuda")) {
      assertTrue(text.contains(" " + id + " "), id + " in\n" + text);
    }
    assertTrue(text.contains("chosen  int4-g32: "), text);
    assertTrue(text.contains("rejected"), text);
  }

  @Test
  void select_probedCgroupV2Container_plansForTheCgroupNotTheHost(@TempDir Path root) {
    // What a Kubernetes pod with a 512 MiB limit sees: a 64 GiB host, most of it free, and a cgroup.
    dev.edgelm.daemon.testing.FakeHostRoot fake = new dev.edgelm.daemon.testing.FakeHostRoot(root)
        .x86CpuInfo("Intel Xeon", 8, "sse4_2 avx avx2 fma avx512f avx512bw avx512_vnni")
        .memInfo(64L << 20, 60L << 20)
        .cgroupV2("/kubepods/burstable/pod1/edgelmd", Long.toString(512L << 20), 260L << 20, "200000 100000");
    HostCapabilities host = HostProbe.create(new HostProbe.Options(root, null, false, HostOverrides.NONE, 8,
        () -> new HostCapabilities.OnnxRuntimeInfo("1.28.0", java.util.Set.of("cpu")), argv -> Optional.empty(), () -> 0, CLOCK)).probe();
    assertEquals(2, host.cores());
    Selection s = SELECTOR.select(Releases.gpt2Small(), host, ONE_STREAM);
    assertEquals("int4-g32", s.chosen().orElseThrow().id(), s.explain());
    assertTrue(s.verdict("int8").orElseThrow().reason().contains(
        "more than the memory budget of 252 MiB (usable memory: cgroup limit 512 MiB less 260 MiB in use)"), s.explain());
  }
}
