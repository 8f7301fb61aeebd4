package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.proto.v1.HostCapabilitiesInfo;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code edgelmd --print-capabilities} and {@code --print-node-labels}: what an edge host (which has no CLI) can tell its operator. */
class EdgelmdTest {
  @TempDir Path tmp;

  private String run(String... args) {
    StringWriter out = new StringWriter();
    int exit = new CommandLine(new Edgelmd()).setOut(new PrintWriter(out, true)).execute(args);
    assertEquals(0, exit, out.toString());
    return out.toString();
  }

  @Test
  void printCapabilities_isJsonWithOverridesApplied() throws Exception {
    String json = run("--print-capabilities", "--set", "host.measure_bandwidth=false", "--set", "host.cache_dir=" + tmp,
        "--set", "host.cpu_features=asimd,dotprod", "--set", "host.arch=arm64");
    HostCapabilitiesInfo.Builder b = HostCapabilitiesInfo.newBuilder();
    JsonFormat.parser().merge(json, b);
    assertEquals("aarch64", b.getArch());
    assertEquals(java.util.List.of("asimd", "dotprod"), b.getCpuFeaturesList());
    assertEquals("flag: host.cpu_features", b.getOverriddenMap().get("cpu_features"));
  }

  @Test
  void printNodeLabels_oneLabelPerLine() {
    String labels = run("--print-node-labels", "--set", "host.measure_bandwidth=false", "--set", "host.cache_dir=" + tmp,
        "--set", "host.cpu_features=avx2,avx512f,avx512_vnni", "--set", "host.arch=x86_64");
    assertTrue(labels.contains("edgelm.dev/arch=amd64\n"), labels);
    assertTrue(labels.contains("edgelm.dev/cpu-vnni=true\n"), labels);
    assertTrue(labels.contains("edgelm.dev/cpu-dotprod=false\n"), labels);
    assertTrue(labels.lines().allMatch(l -> l.matches("edgelm\\.dev/[a-z0-9-]+=[a-z0-9]+")), labels);
  }
}
