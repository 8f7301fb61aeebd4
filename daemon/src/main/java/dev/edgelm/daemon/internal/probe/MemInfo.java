package dev.edgelm.daemon.internal.probe;

/** {@code /proc/meminfo}: MemTotal and MemAvailable in bytes (0 when absent). */
record MemInfo(long totalBytes, long availableBytes) {

  static MemInfo parse(String text) {
    long total = 0;
    long available = -1;
    long free = 0;
    for (String line : text.split("\n")) {
      if (line.startsWith("MemTotal:")) {
        total = kib(line);
      } else if (line.startsWith("MemAvailable:")) {
        available = kib(line);
      } else if (line.startsWith("MemFree:")) {
        free = kib(line);
      }
    }
    // Kernels before 3.14 have no MemAvailable; MemFree understates it, which is the safe side.
    return new MemInfo(total, available >= 0 ? available : free);
  }

  private static long kib(String line) {
    String[] parts = line.substring(line.indexOf(':') + 1).strip().split("\\s+");
    try {
      long v = Long.parseLong(parts[0]);
      return parts.length > 1 && parts[1].equalsIgnoreCase("kB") ? v * 1024 : v;
    } catch (NumberFormatException e) {
      return 0;
    }
  }
}
