package dev.edgelm.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/** A one-line description of this machine for benchmark output: CPU model and core count. */
final class HostDescription {
  private HostDescription() {}

  static String current() {
    String cpu = System.getProperty("os.arch");
    try {
      for (String line : Files.readAllLines(Path.of("/proc/cpuinfo"))) {
        if (line.startsWith("model name")) {
          cpu = line.substring(line.indexOf(':') + 1).strip();
          break;
        }
      }
    } catch (IOException e) {
      // Not Linux: keep the architecture.
    }
    return cpu + ", " + Runtime.getRuntime().availableProcessors() + " cores, Java " + Runtime.version().feature();
  }
}
