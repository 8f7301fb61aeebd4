package dev.edgelm.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.testing.TestPackages;
import dev.edgelm.proto.v1.HostCapabilitiesInfo;
import dev.edgelm.proto.v1.Method;
import dev.edgelm.proto.v1.Quality;
import dev.edgelm.proto.v1.Requirements;
import dev.edgelm.proto.v1.VariantDescriptor;
import dev.edgelm.proto.v1.VariantOutcome;
import dev.edgelm.proto.v1.VariantSelection;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code edgelm capabilities} and {@code edgelm select}, in-process: this machine, simulated hosts, a layout hub. */
class SelectionCommandsTest {
  @TempDir Path tmp;

  private record Run(int exit, String out, String err) {}

  private static Run run(String... args) {
    CommandLine cl = Main.commandLine();
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    cl.setOut(new PrintWriter(out, true));
    cl.setErr(new PrintWriter(err, true));
    return new Run(cl.execute(args), out.toString(), err.toString());
  }

  @Test
  void capabilities_json_agreesWithProcOnThisMachine() throws Exception {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isRegularFile(cpuinfo), "needs Linux /proc");
    Run r = run("capabilities", "--json", "--no-measure", "--cache-dir", tmp.toString());
    assertEquals(0, r.exit(), r.err());
    HostCapabilitiesInfo.Builder b = HostCapabilitiesInfo.newBuilder();
    JsonFormat.parser().merge(r.out(), b);
    HostCapabilitiesInfo h = b.build();
    String flags = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags") || l.startsWith("Features")).findFirst().orElse("");
    Set<String> proc = Set.of(flags.substring(flags.indexOf(':') + 1).strip().split("\\s+"));
    for (String f : List.of("avx2", "avx512f", "avx512_vnni", "avx_vnni")) {
      assertEquals(proc.contains(f), h.getCpuFeaturesList().contains(f), f);
    }
    assertEquals(Runtime.getRuntime().availableProcessors(), h.getCores());
    long memTotal = Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith("MemTotal:"))
        .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")) * 1024).findFirst().orElseThrow();
    assertEquals(memTotal, h.getMemory().getTotalBytes());
    assertTrue(h.getExecutionProvidersList().contains("cpu"));
  }

  @Test
  void capabilities_simulatedHost_saysWhatIsOverridden() {
    Run r = run("capabilities", "--arch", "arm64", "--cpu-features", "asimd,dotprod", "--memory", "2GiB", "--bandwidth", "8GiB/s",
        "--cache-dir", tmp.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("linux / aarch64") || r.out().contains("/ aarch64"), r.out());
    assertTrue(r.out().contains("cpu features  asimd dotprod"), r.out());
    assertTrue(r.out().contains("usable 2.0 GiB"), r.out());
    assertTrue(r.out().contains("overridden    memory (flag: host.memory)"), r.out());
    assertTrue(r.out().contains("(configured)"), r.out());
  }

  @Test
  void capabilities_labels_forKubernetesNodes() {
    Run r = run("capabilities", "--labels", "--cpu-features", "avx2,avx512f,avx512_vnni", "--arch", "x86_64", "--no-measure",
        "--cache-dir", tmp.toString());
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("edgelm.dev/cpu-vnni=true\n"), r.out());
    assertTrue(r.out().contains("edgelm.dev/arch=amd64\n"), r.out());
  }

  @Test
  void capabilities_badSize_isOneLineNamingTheKey() {
    Run r = run("capabilities", "--memory", "lots", "--cache-dir", tmp.toString());
    assertEquals(2, r.exit());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().contains("host.memory"), r.err());
  }

  private Path pkg(String id, String method, int weightBytes, double ratio, List<String> ops) {
    VariantDescriptor d = TestPackages.descriptor("tiny", id, method, weightBytes).toBuilder()
        .setMethod(Method.newBuilder().setName(method).putParams("accuracy_level", "4"))
        .setRequirements(Requirements.newBuilder().addAllOnnxOps(ops).setOpset(17))
        .setQuality(Quality.newBuilder().setPerplexityRatio(ratio)).build();
    byte[] w = new byte[weightBytes];
    new Random(id.hashCode()).nextBytes(w);
    Map<String, byte[]> files = new LinkedHashMap<>();
    files.put("model.onnx", new byte[1024]);
    files.put("model.onnx.data", w);
    files.put("tokenizer.json", TestPackages.TOKENIZER);
    return TestPackages.write(tmp.resolve("pkgs").resolve(id), d, files);
  }

  private String publish() {
    Reference ref = Reference.parse("oci:" + tmp.resolve("layout") + ":stable");
    try (Hub hub = Hub.open(HubOptions.defaults(tmp.resolve("publisher")))) {
      hub.publish(List.of(pkg("fp32", "fp32", 4_000_000, 1.0, List.of("ai.onnx:MatMul")),
          pkg("int8", "int8", 1_000_000, 1.01, List.of("ai.onnx:MatMul", "com.microsoft:DynamicQuantizeMatMul")),
          pkg("int4", "int4", 600_000, 1.05, List.of("ai.onnx:MatMul", "com.microsoft:MatMulNBits"))), ref, PublishOptions.DEFAULT,
          ProgressListener.NONE);
    }
    return ref.toString();
  }

  private String[] select(String ref, String... more) {
    List<String> a = new java.util.ArrayList<>(List.of("select", ref, "--store", tmp.resolve("store").toString(), "--cache-dir", tmp.toString(),
        "--arch", "x86_64", "--bandwidth", "20GiB/s"));
    a.addAll(List.of(more));
    return a.toArray(String[]::new);
  }

  @Test
  void select_printsTheChosenIdAndItsReason() {
    Run r = run(select(publish(), "--cpu-features", "avx2,fma"));
    assertEquals(0, r.exit(), r.err());
    assertEquals("int4\n", r.out());
    assertTrue(r.err().startsWith("fastest: "), r.err());
  }

  @Test
  void select_explain_showsEveryVariantWithItsReason() {
    Run r = run(select(publish(), "--cpu-features", "avx2", "--memory", "67.3MiB", "--explain"));
    assertEquals(0, r.exit(), r.err());
    assertTrue(r.out().contains("chosen  int4: "), r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.contains(" fp32 ") && l.contains("rejected") && l.contains("more than the memory budget of 67.3 MiB")),
        r.out());
    assertTrue(r.out().lines().anyMatch(l -> l.contains(" int8 ") && l.contains("rejected")), r.out());
    assertTrue(r.out().contains("overridden: arch, cpu_features, memory, memory_bandwidth"), r.out());
  }

  @Test
  void select_json_isAVariantSelectionWithTheQualityFloorApplied() throws Exception {
    Run r = run(select(publish(), "--cpu-features", "avx512f,avx512_vnni", "--max-perplexity-ratio", "1.02", "--json"));
    assertEquals(0, r.exit(), r.err());
    VariantSelection.Builder b = VariantSelection.newBuilder();
    JsonFormat.parser().merge(r.out(), b);
    VariantSelection s = b.build();
    assertEquals("int8", s.getChosen());
    assertEquals(VariantOutcome.VARIANT_OUTCOME_REJECTED, s.getVariantsList().stream().filter(v -> v.getId().equals("int4")).findFirst()
        .orElseThrow().getOutcome());
    assertEquals(1.02, s.getPolicy().getMaxPerplexityRatio(), 1e-9);
  }

  @Test
  void select_nothingFits_exitsOneWithEveryReason() {
    Run r = run(select(publish(), "--memory", "16MiB"));
    assertEquals(1, r.exit());
    assertEquals("", r.out());
    assertEquals(1, r.err().lines().count(), r.err());
    assertTrue(r.err().startsWith("edgelm: error: no variant of oci:") && r.err().contains("int4: needs") && r.err().contains("(see --explain)"),
        r.err());
  }

  @Test
  void select_pinnedVariant_isChosenWithWarnings() {
    Run r = run(select(publish(), "--memory", "16MiB", "--variant", "int8"));
    assertEquals(0, r.exit(), r.err());
    assertEquals("int8\n", r.out());
    assertTrue(r.err().contains("pinned by the operator") && r.err().contains("warning: would otherwise be rejected"), r.err());
  }
}
