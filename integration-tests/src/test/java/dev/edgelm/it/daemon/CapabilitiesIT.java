package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.protobuf.util.JsonFormat;
import dev.edgelm.it.testing.EdgelmCommand;
import dev.edgelm.proto.v1.HostCapabilitiesInfo;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./edgelm capabilities --json} as a user runs it on this machine, checked against what
 * {@code /proc} says (not against numbers written into the test): CPU features (this build host has
 * AVX-512 VNNI, and the test says so only if {@code /proc/cpuinfo} does), cores, memory; and the
 * bandwidth is measured once, then read from the cache.
 */
class CapabilitiesIT {
  @TempDir Path work;

  private static long meminfo(String key) throws Exception {
    return Files.readAllLines(Path.of("/proc/meminfo")).stream().filter(l -> l.startsWith(key + ":"))
        .mapToLong(l -> Long.parseLong(l.replaceAll("\\D", "")) * 1024).findFirst().orElseThrow();
  }

  private HostCapabilitiesInfo run() throws Exception {
    EdgelmCommand.Result r = EdgelmCommand.run(work, Duration.ofMinutes(2), "capabilities", "--json", "--cache-dir", work.resolve("cache").toString())
        .assertSuccess();
    HostCapabilitiesInfo.Builder b = HostCapabilitiesInfo.newBuilder();
    JsonFormat.parser().merge(r.out(), b);
    return b.build();
  }

  @Test
  void capabilitiesJson_onThisMachine_matchesProc() throws Exception {
    Path cpuinfo = Path.of("/proc/cpuinfo");
    Assumptions.assumeTrue(Files.isRegularFile(cpuinfo), "needs Linux /proc");
    HostCapabilitiesInfo h = run();

    String flags = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags") || l.startsWith("Features")).findFirst().orElse("");
    Set<String> proc = Set.of(flags.substring(flags.indexOf(':') + 1).strip().split("\\s+"));
    for (String f : List.of("avx2", "avx512f", "avx512bw", "avx512_vnni", "avx_vnni", "amx_int8")) {
      assertEquals(proc.contains(f), h.getCpuFeaturesList().contains(f), f + " as /proc/cpuinfo says");
    }
    String jvmArch = System.getProperty("os.arch");
    assertEquals(jvmArch.equals("amd64") ? "x86_64" : jvmArch.equals("arm64") ? "aarch64" : jvmArch, h.getArch());
    assertEquals(Runtime.getRuntime().availableProcessors(), h.getCores(), "the CPUs this process may use (nproc)");

    assertEquals(meminfo("MemTotal"), h.getMemory().getTotalBytes());
    long available = meminfo("MemAvailable");
    assertTrue(Math.abs(h.getMemory().getAvailableBytes() - available) < Math.max(1L << 30, available / 10),
        "MemAvailable " + h.getMemory().getAvailableBytes() + " vs " + available + " a moment later");
    assertTrue(h.getMemory().getUsableBytes() > 0 && h.getMemory().getUsableBytes() <= h.getMemory().getAvailableBytes());

    assertTrue(h.getExecutionProvidersList().contains("cpu"));
    assertTrue(h.getMemoryBandwidthBytesPerSecond() > 1e8, "a measured bandwidth: " + h.getMemoryBandwidthBytesPerSecond());
    assertEquals("measured", h.getMemoryBandwidthSource());
    HostCapabilitiesInfo again = run();
    assertEquals("cached", again.getMemoryBandwidthSource(), "measured once per hardware");
    assertEquals(h.getMemoryBandwidthBytesPerSecond(), again.getMemoryBandwidthBytesPerSecond());
    assertEquals(h.getFingerprint(), again.getFingerprint());
  }
}
