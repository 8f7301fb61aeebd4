package dev.edgelm.hub;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.KeyPair;
import java.security.PrivateKey;
import java.security.PublicKey;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SigningKeysTest {
  @TempDir Path dir;

  @Test
  void pem_roundTrip_signsAndVerifies() throws Exception {
    KeyPair kp = SigningKeys.generate();
    SigningKeys.writePrivateKey(kp.getPrivate(), dir.resolve("k.pem"));
    SigningKeys.writePublicKey(kp.getPublic(), dir.resolve("k.pub"));
    PrivateKey priv = SigningKeys.readPrivateKey(dir.resolve("k.pem"));
    PublicKey pub = SigningKeys.readPublicKey(dir.resolve("k.pub"));
    byte[] msg = "hello".getBytes(StandardCharsets.UTF_8);
    assertTrue(SigningKeys.verify(pub, msg, SigningKeys.sign(priv, msg)));
    assertFalse(SigningKeys.verify(pub, "hellO".getBytes(StandardCharsets.UTF_8), SigningKeys.sign(priv, msg)));
    assertTrue(Files.readString(dir.resolve("k.pem")).startsWith("-----BEGIN PRIVATE KEY-----"));
    assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("k.pem"))));
  }

  @Test
  void publicKeyOf_derivesTheSamePublicKey() {
    KeyPair kp = SigningKeys.generate();
    assertArrayEquals(kp.getPublic().getEncoded(), SigningKeys.publicKeyOf(kp.getPrivate()).getEncoded());
    assertEquals(SigningKeys.keyId(kp.getPublic()), SigningKeys.keyId(SigningKeys.publicKeyOf(kp.getPrivate())));
  }

  @Test
  void writePrivateKey_existingFile_refusesToOverwrite() throws Exception {
    Files.writeString(dir.resolve("k.pem"), "x");
    assertThrows(FileAlreadyExistsException.class, () -> SigningKeys.writePrivateKey(SigningKeys.generate().getPrivate(), dir.resolve("k.pem")));
  }

  @Test
  void readPublicKey_opensslKey_isAccepted() throws Exception {
    Path openssl = Path.of("/usr/bin/openssl");
    org.junit.jupiter.api.Assumptions.assumeTrue(Files.isExecutable(openssl), "skipped: openssl is not installed");
    Path priv = dir.resolve("o.pem");
    Path pub = dir.resolve("o.pub");
    assertEquals(0, new ProcessBuilder(openssl.toString(), "genpkey", "-algorithm", "ed25519", "-out", priv.toString()).start().waitFor());
    assertEquals(0, new ProcessBuilder(openssl.toString(), "pkey", "-in", priv.toString(), "-pubout", "-out", pub.toString()).start().waitFor());
    PrivateKey k = SigningKeys.readPrivateKey(priv);
    byte[] msg = {1, 2, 3};
    assertTrue(SigningKeys.verify(SigningKeys.readPublicKey(pub), msg, SigningKeys.sign(k, msg)));
    assertArrayEquals(SigningKeys.readPublicKey(pub).getEncoded(), SigningKeys.publicKeyOf(k).getEncoded());
  }
}
