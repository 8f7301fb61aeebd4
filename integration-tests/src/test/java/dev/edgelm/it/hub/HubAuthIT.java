package dev.edgelm.it.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.edgelm.hub.AuthException;
import dev.edgelm.hub.Credentials;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.testing.RegistryProcess;
import dev.edgelm.hub.testing.TestPackages;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A registry with htpasswd basic auth: no credentials, wrong credentials, right credentials. */
class HubAuthIT {
  @TempDir static Path shared;
  private static RegistryProcess registry;
  @TempDir Path tmp;

  @BeforeAll
  static void startRegistry() throws IOException {
    registry = RegistryProcess.start(shared.resolve("registry"), "alice", "correct-horse");
  }

  @AfterAll
  static void stopRegistry() {
    if (registry != null) {
      registry.close();
    }
  }

  private HubOptions options(Credentials c) {
    HubOptions o = HubOptions.defaults(tmp.resolve("store")).withMinFreeBytes(0);
    return c == null ? o : o.withCredentials(Credentials.Provider.of(c));
  }

  @Test
  void noCredentials_thenWrong_thenRight() {
    Path pkg = TestPackages.write(tmp.resolve("pkg"), "auth", "fp32", "fp32", 64 << 10, 3);
    Reference ref = Reference.parse(registry.authority() + "/private/model:1");

    try (Hub hub = Hub.open(options(null))) {
      AuthException e = assertThrows(AuthException.class, () -> hub.publish(List.of(pkg), ref, PublishOptions.DEFAULT, ProgressListener.NONE));
      assertEquals(AuthException.Reason.MISSING_CREDENTIALS, e.reason());
    }
    try (Hub hub = Hub.open(options(new Credentials("alice", "wrong")))) {
      AuthException e = assertThrows(AuthException.class, () -> hub.publish(List.of(pkg), ref, PublishOptions.DEFAULT, ProgressListener.NONE));
      assertEquals(AuthException.Reason.REJECTED_CREDENTIALS, e.reason());
    }
    try (Hub hub = Hub.open(options(new Credentials("alice", "correct-horse")))) {
      hub.publish(List.of(pkg), ref, PublishOptions.DEFAULT, ProgressListener.NONE);
    }

    HubCli.Run none = HubCli.run("pull", ref.toString(), "--store", tmp.resolve("s1").toString());
    assertEquals(1, none.exit());
    assertTrue(none.err().startsWith("edgelm: error: registry " + registry.authority() + " requires authentication"), none.err());
    assertTrue(none.err().contains("--username"), none.err());

    HubCli.Run wrong = HubCli.run("pull", ref.toString(), "-u", "alice", "-p", "wrong", "--store", tmp.resolve("s2").toString());
    assertEquals(1, wrong.exit());
    assertTrue(wrong.err().contains("rejected the credentials of user 'alice'"), wrong.err());
    assertFalse(wrong.err().contains("wrong'"), "no password in messages");

    HubCli.Run right = HubCli.run("pull", ref.toString(), "-u", "alice", "-p", "correct-horse", "--store", tmp.resolve("s3").toString());
    assertEquals(0, right.exit(), right.err());
    try {
      assertTrue(TestPackages.sameFiles(pkg, Path.of(right.lastLine())));
    } catch (IOException e) {
      throw new AssertionError(e);
    }
  }
}
