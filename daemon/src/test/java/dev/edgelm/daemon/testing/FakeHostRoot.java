package dev.edgelm.daemon.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A fake file-system root for the host probe: {@code proc/cpuinfo}, {@code proc/meminfo},
 * {@code proc/self/cgroup}, {@code proc/self/mountinfo} and cgroup files, written the way the kernel
 * writes them, so tests simulate x86 and arm64 hosts, cgroup v1 and v2 containers.
 */
public final class FakeHostRoot {
  private final Path root;

  public FakeHostRoot(Path root) {
    this.root = root;
  }

  public Path root() {
    return root;
  }

  public FakeHostRoot file(String absolute, String content) {
    try {
      Path p = root.resolve(absolute.substring(1));
      Files.createDirectories(p.getParent());
      Files.writeString(p, content);
      return this;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  /** {@code processors} x86 processors with these {@code flags}. */
  public FakeHostRoot x86CpuInfo(String model, int processors, String flags) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < processors; i++) {
      s.append("processor\t: ").append(i).append("\nvendor_id\t: AuthenticAMD\nmodel name\t: ").append(model)
          .append("\ncpu MHz\t\t: 2600.000\nflags\t\t: ").append(flags).append("\n\n");
    }
    return file("/proc/cpuinfo", s.toString());
  }

  /** arm64 processors with these hwcap {@code features} (the kernel prints no model name there). */
  public FakeHostRoot armCpuInfo(int processors, String features) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < processors; i++) {
      s.append("processor\t: ").append(i).append("\nBogoMIPS\t: 50.00\nFeatures\t: ").append(features)
          .append("\nCPU implementer\t: 0x41\nCPU architecture: 8\nCPU variant\t: 0x1\nCPU part\t: 0xd0c\nCPU revision\t: 1\n\n");
    }
    return file("/proc/cpuinfo", s.toString());
  }

  public FakeHostRoot memInfo(long totalKib, long availableKib) {
    return file("/proc/meminfo", "MemTotal:       " + totalKib + " kB\nMemFree:         " + (availableKib / 2) + " kB\nMemAvailable:   "
        + availableKib + " kB\nBuffers:          123456 kB\n");
  }

  /** A cgroup v2 container: this process in {@code path}, with {@code memory.max}, {@code memory.current} and {@code cpu.max}. */
  public FakeHostRoot cgroupV2(String path, String memoryMax, long memoryCurrent, String cpuMax) {
    file("/proc/self/cgroup", "0::" + path + "\n");
    file("/proc/self/mountinfo", "24 30 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:5 - cgroup2 cgroup2 rw,nsdelegate\n"
        + "30 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n");
    String dir = "/sys/fs/cgroup" + (path.equals("/") ? "" : path);
    file(dir + "/memory.max", memoryMax + "\n");
    file(dir + "/memory.current", memoryCurrent + "\n");
    file(dir + "/cpu.max", cpuMax + "\n");
    return file("/sys/fs/cgroup/memory.max", "max\n"); // the root has no limit
  }

  /** A cgroup v1 (hybrid) host like this one: memory and cpu controllers mounted separately. */
  public FakeHostRoot cgroupV1(String path, long limitBytes, long usageBytes, long cfsQuotaUs, long cfsPeriodUs) {
    file("/proc/self/cgroup", "9:name=systemd:/\n4:memory:" + path + "\n1:cpu,cpuacct:" + path + "\n0::/\n");
    file("/proc/self/mountinfo", ""
        + "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct\n"
        + "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
        + "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n");
    file("/sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n");
    file("/sys/fs/cgroup/memory" + path + "/memory.limit_in_bytes", limitBytes + "\n");
    file("/sys/fs/cgroup/memory" + path + "/memory.usage_in_bytes", usageBytes + "\n");
    file("/sys/fs/cgroup/cpu,cpuacct" + path + "/cpu.cfs_quota_us", cfsQuotaUs + "\n");
    file("/sys/fs/cgroup/cpu,cpuacct" + path + "/cpu.cfs_period_us", cfsPeriodUs + "\n");
    return file("/sys/fs/cgroup/unified/cgroup.procs", "1\n");
  }
}
