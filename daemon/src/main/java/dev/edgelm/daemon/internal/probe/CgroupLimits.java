package dev.edgelm.daemon.internal.probe;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * The memory and CPU limits cgroups put on this process: v2 ({@code memory.max},
 * {@code memory.current}, {@code cpu.max}) and v1 ({@code memory.limit_in_bytes},
 * {@code memory.usage_in_bytes}, {@code cpu.cfs_quota_us}/{@code cpu.cfs_period_us}), read for this
 * process's cgroup and each ancestor up to the mount point, since a parent's limit binds its children.
 *
 * <p>The process's cgroup comes from {@code /proc/self/cgroup}, the file system it lives in from
 * {@code /proc/self/mountinfo} (hybrid hosts have both: v1 controllers and an empty v2 tree). Without
 * mountinfo the usual mount points ({@code /sys/fs/cgroup}, {@code /sys/fs/cgroup/memory},
 * {@code /sys/fs/cgroup/cpu}) are assumed.
 *
 * @param memoryLimitBytes the tightest memory limit, 0 when none
 * @param memoryUsageBytes what the cgroup with the tightest headroom uses
 * @param memoryHeadroomBytes the least {@code limit - usage} over the limited cgroups, -1 when none
 * @param cpuQuota the tightest CPU quota in CPUs, 0 when none
 */
record CgroupLimits(long memoryLimitBytes, long memoryUsageBytes, long memoryHeadroomBytes, double cpuQuota) {
  /** cgroup v1 writes "no limit" as a page-rounded Long.MAX_VALUE; anything this large is no limit. */
  private static final long NO_LIMIT = 1L << 60;

  static final CgroupLimits NONE = new CgroupLimits(0, 0, -1, 0);

  private record Mount(String root, String mountPoint, String fsType, Set<String> superOptions) {}

  private record Membership(String hierarchy, Set<String> controllers, String path) {}

  static CgroupLimits read(HostFiles files) {
    List<Membership> memberships = memberships(files.read("/proc/self/cgroup").orElse(""));
    if (memberships.isEmpty()) {
      return NONE;
    }
    List<Mount> mounts = mounts(files.read("/proc/self/mountinfo").orElse(""));
    Limits acc = new Limits();
    for (Membership m : memberships) {
      boolean v2 = m.hierarchy().equals("0") && m.controllers().isEmpty();
      if (v2) {
        Path leaf = directory(files, mounts, m, "cgroup2", null, "/sys/fs/cgroup");
        if (leaf != null) {
          walk(files, mounts, m, leaf, "cgroup2", null, "/sys/fs/cgroup", acc, true);
        }
      } else {
        if (m.controllers().contains("memory")) {
          Path leaf = directory(files, mounts, m, "cgroup", "memory", "/sys/fs/cgroup/memory");
          if (leaf != null) {
            walk(files, mounts, m, leaf, "cgroup", "memory", "/sys/fs/cgroup/memory", acc, false);
          }
        }
        if (m.controllers().contains("cpu")) {
          Path leaf = directory(files, mounts, m, "cgroup", "cpu", "/sys/fs/cgroup/cpu");
          if (leaf != null) {
            walk(files, mounts, m, leaf, "cgroup", "cpu", "/sys/fs/cgroup/cpu", acc, false);
          }
        }
      }
    }
    return new CgroupLimits(acc.limit == Long.MAX_VALUE ? 0 : acc.limit, acc.usage,
        acc.headroom == Long.MAX_VALUE ? -1 : Math.max(0, acc.headroom), acc.quota == Double.MAX_VALUE ? 0 : acc.quota);
  }

  private static final class Limits {
    long limit = Long.MAX_VALUE;
    long usage;
    long headroom = Long.MAX_VALUE;
    double quota = Double.MAX_VALUE;
  }

  private static void walk(HostFiles files, List<Mount> mounts, Membership m, Path leaf, String fsType, String controller,
      String fallbackMount, Limits acc, boolean v2) {
    Path top = mountPoint(files, mounts, fsType, controller, fallbackMount);
    for (Path dir = leaf; dir != null && dir.startsWith(top); dir = dir.getParent()) {
      if (v2 || "memory".equals(controller)) {
        long limit = number(dir.resolve(v2 ? "memory.max" : "memory.limit_in_bytes"));
        if (limit > 0 && limit < NO_LIMIT) {
          long usage = Math.max(0, number(dir.resolve(v2 ? "memory.current" : "memory.usage_in_bytes")));
          acc.limit = Math.min(acc.limit, limit);
          if (limit - usage < acc.headroom) {
            acc.headroom = limit - usage;
            acc.usage = usage;
          }
        }
      }
      if (v2 || "cpu".equals(controller)) {
        double q = v2 ? cpuMaxV2(dir.resolve("cpu.max")) : cpuQuotaV1(dir);
        if (q > 0) {
          acc.quota = Math.min(acc.quota, q);
        }
      }
      if (dir.equals(top)) {
        break;
      }
    }
  }

  /** A file holding one integer; -1 when missing, "max" or not a number. */
  private static long number(Path p) {
    Optional<String> s = HostFiles.firstLine(p);
    if (s.isEmpty() || s.get().equals("max")) {
      return -1;
    }
    try {
      return Long.parseLong(s.get());
    } catch (NumberFormatException e) {
      return -1;
    }
  }

  private static double cpuMaxV2(Path p) {
    Optional<String> s = HostFiles.firstLine(p);
    if (s.isEmpty()) {
      return 0;
    }
    String[] parts = s.get().split("\\s+");
    if (parts.length < 1 || parts[0].equals("max")) {
      return 0;
    }
    try {
      long quota = Long.parseLong(parts[0]);
      long period = parts.length > 1 ? Long.parseLong(parts[1]) : 100_000;
      return period > 0 ? (double) quota / period : 0;
    } catch (NumberFormatException e) {
      return 0;
    }
  }

  private static double cpuQuotaV1(Path dir) {
    long quota = number(dir.resolve("cpu.cfs_quota_us"));
    long period = number(dir.resolve("cpu.cfs_period_us"));
    return quota > 0 && period > 0 ? (double) quota / period : 0;
  }

  private static Path directory(HostFiles files, List<Mount> mounts, Membership m, String fsType, String controller, String fallbackMount) {
    Mount mount = mount(mounts, fsType, controller);
    String root = mount == null ? "/" : mount.root();
    Path top = mountPoint(files, mounts, fsType, controller, fallbackMount);
    String path = m.path();
    String rel;
    if (root.equals("/")) {
      rel = path;
    } else if (path.equals(root) || path.startsWith(root + "/")) {
      rel = path.substring(root.length());
    } else {
      rel = "/"; // our cgroup is outside what is mounted (a namespace boundary): the mount's root is the best we see
    }
    rel = rel.startsWith("/") ? rel.substring(1) : rel;
    Path dir = rel.isEmpty() ? top : top.resolve(rel);
    return java.nio.file.Files.isDirectory(dir) ? dir : java.nio.file.Files.isDirectory(top) ? top : null;
  }

  private static Path mountPoint(HostFiles files, List<Mount> mounts, String fsType, String controller, String fallback) {
    Mount mount = mount(mounts, fsType, controller);
    return files.resolve(mount == null ? fallback : mount.mountPoint());
  }

  private static Mount mount(List<Mount> mounts, String fsType, String controller) {
    for (Mount m : mounts) {
      if (m.fsType().equals(fsType) && (controller == null || m.superOptions().contains(controller))) {
        return m;
      }
    }
    return null;
  }

  private static List<Membership> memberships(String text) {
    List<Membership> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      String[] parts = line.strip().split(":", 3);
      if (parts.length == 3) {
        Set<String> controllers = parts[1].isEmpty() ? Set.<String>of() : new java.util.HashSet<>(List.of(parts[1].split(",")));
        out.add(new Membership(parts[0], controllers, parts[2]));
      }
    }
    return out;
  }

  private static List<Mount> mounts(String text) {
    List<Mount> out = new ArrayList<>();
    for (String line : text.split("\n")) {
      int dash = line.indexOf(" - ");
      if (dash < 0) {
        continue;
      }
      String[] left = line.substring(0, dash).split(" ");
      String[] right = line.substring(dash + 3).split(" ");
      if (left.length < 5 || right.length < 1) {
        continue;
      }
      Set<String> opts = right.length > 2 ? new java.util.HashSet<>(List.of(right[2].split(","))) : Set.of();
      out.add(new Mount(unescape(left[3]), unescape(left[4]), right[0], opts));
    }
    return out;
  }

  /** mountinfo escapes spaces and a few other characters as octal (\040). */
  private static String unescape(String s) {
    StringBuilder b = new StringBuilder();
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c == '\\' && i + 3 < s.length() && s.substring(i + 1, i + 4).matches("[0-7]{3}")) {
        b.append((char) Integer.parseInt(s.substring(i + 1, i + 4), 8));
        i += 3;
      } else {
        b.append(c);
      }
    }
    return b.toString();
  }
}
