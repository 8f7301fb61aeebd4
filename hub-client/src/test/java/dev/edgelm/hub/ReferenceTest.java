package dev.edgelm.hub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class ReferenceTest {
  private static final String HEX = "a".repeat(64);

  @Test
  void parse_hostPortRepoTag_isRegistry() {
    Reference.Registry r = (Reference.Registry) Reference.parse("127.0.0.1:5000/models/tiny:1.0");
    assertEquals("127.0.0.1", r.host());
    assertEquals(5000, r.port());
    assertEquals("models/tiny", r.repository());
    assertEquals("1.0", r.tag().orElseThrow());
    assertTrue(r.isLoopback());
    assertEquals("127.0.0.1:5000/models/tiny:1.0", r.toString());
  }

  @Test
  void parse_noTag_defaultsToLatest() {
    assertEquals("latest", Reference.parse("registry.example.com/m").tag().orElseThrow());
  }

  @Test
  void parse_digest_pinsIt() {
    Reference r = Reference.parse("localhost:5000/m/x@sha256:" + HEX);
    assertEquals(HEX, r.digest().orElseThrow().hex());
    assertTrue(r.tag().isEmpty());
    assertEquals(r, Reference.parse(r.toString()));
  }

  @Test
  void parse_dockerTransportPrefix_isAccepted() {
    assertEquals("ghcr.io/o/m:2", Reference.parse("docker://ghcr.io/o/m:2").toString());
  }

  @Test
  void parse_noHost_isRejectedWithForms() {
    BadReferenceException e = assertThrows(BadReferenceException.class, () -> Reference.parse("models/tiny:1"));
    assertTrue(e.getMessage().contains("HOST[:PORT]/REPO:TAG"), e.getMessage());
  }

  @Test
  void parse_upperCaseRepository_isRejected() {
    assertThrows(BadReferenceException.class, () -> Reference.parse("localhost:5000/Models:1"));
  }

  @Test
  void parse_badPort_isRejected() {
    assertThrows(BadReferenceException.class, () -> Reference.parse("localhost:99999/m:1"));
  }

  @Test
  void parse_layout_pathAndTag() {
    Reference.Layout l = (Reference.Layout) Reference.parse("oci:/srv/hub:rel-1");
    assertEquals(Path.of("/srv/hub"), l.path());
    assertEquals("rel-1", l.tag().orElseThrow());
    assertEquals("oci:/srv/hub:rel-1", l.toString());
  }

  @Test
  void parse_layoutWithoutTag_defaultsToLatest() {
    Reference.Layout l = (Reference.Layout) Reference.parse("oci:/srv/hub");
    assertEquals("latest", l.tag().orElseThrow());
  }

  @Test
  void parse_layoutDigest() {
    Reference r = Reference.parse("oci:/srv/hub@sha256:" + HEX);
    assertEquals(HEX, r.digest().orElseThrow().hex());
  }

  @Test
  void isLoopback_publicHost_isFalse() {
    assertFalse(((Reference.Registry) Reference.parse("registry.example.com:443/m:1")).isLoopback());
  }

  @Test
  void digest_parse_rejectsOtherAlgorithms() {
    assertThrows(BadReferenceException.class, () -> Digest.parse("sha512:" + HEX));
    assertThrows(BadReferenceException.class, () -> Digest.parse("sha256:" + HEX.toUpperCase()));
  }

  @Test
  void digest_of_isCanonical() {
    assertEquals("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", Digest.of(new byte[0]).toString());
    assertEquals("sha256-" + HEX + ".sig", new Digest(HEX).signatureTag());
  }
}
