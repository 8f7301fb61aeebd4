package dev.edgelm.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * edgelmd never carries the trainer: neither the {@code trainer} module nor a training library
 * (libtorch through bytedeco, DJL) is on the daemon's runtime class path, which Maven also gives
 * its tests (the test-scoped jars of this module are none of these).
 */
class DaemonClasspathTest {
  private static final List<String> FORBIDDEN = List.of("edgelm-trainer", "trainer/target/classes", "/org/bytedeco/",
      "/ai/djl/", "pytorch", "edgelm-compressor", "compressor/target/classes");

  @Test
  void runtimeClasspath_hasNoTrainerNorTorch() {
    // Surefire runs tests from a manifest-only jar and names the real class path in this property.
    String path = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
    List<String> entries = Arrays.asList(path.split(File.pathSeparator));
    assertTrue(entries.stream().anyMatch(e -> e.contains("vertx-core")), "read the daemon's class path: " + entries);
    List<String> offenders = entries.stream().filter(e -> FORBIDDEN.stream().anyMatch(e::contains)).toList();
    assertEquals(List.of(), offenders, "the daemon's class path carries the trainer or a training library");
    assertThrows(ClassNotFoundException.class, () -> Class.forName("org.bytedeco.pytorch.global.torch"));
    assertThrows(ClassNotFoundException.class, () -> Class.forName("dev.edgelm.trainer.TorchDistiller"));
  }
}
