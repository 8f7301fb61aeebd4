package dev.edgelm.it.daemon;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * edgelmd as an operator starts it on an address other hosts can reach, with no API keys: it refuses, with one line
 * saying why and how to proceed, exit status 2, and binds nothing. (A start that binds beyond loopback is not run here:
 * tests touch only loopback; DaemonConfigTest and ModelsServiceTest cover what such a daemon allows.)
 */
class ProtectedModeIT {
  @TempDir Path work;

  @Test
  void wildcardBindWithoutKeys_isRefusedBeforeAnyPortIsBound() throws Exception {
    Path ports = work.resolve("ports");
    DaemonProcess.Exit e = DaemonProcess.runToExit(work, "--host", "0.0.0.0", "--port", "0", "--http-port", "0",
        "--set", "server.port_file=" + ports);
    assertEquals(2, e.status(), e.log());
    assertTrue(e.log().contains("server.host") && e.log().contains("auth.api_keys") && e.log().contains("--insecure-bind"), e.log());
    assertEquals(1, e.log().strip().lines().filter(l -> l.contains("error")).count(), e.log());
    assertFalse(Files.exists(ports), "no port was bound");
  }
}
