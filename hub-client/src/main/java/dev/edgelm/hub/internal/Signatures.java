package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.SignatureCheck;
import dev.edgelm.hub.SigningKeys;
import java.nio.charset.StandardCharsets;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Release signatures: an OCI manifest stored under the tag {@code sha256-<hex>.sig} (cosign's
 * convention for registries without the referrers API), with the empty config, the index as
 * {@code subject}, and one layer per signature holding the 64 raw bytes of an Ed25519 signature of
 * {@link HubFormat#SIGNATURE_PAYLOAD_PREFIX} + the index digest, annotated with the signer's key id.
 */
final class Signatures {
  static final byte[] EMPTY_CONFIG = "{}".getBytes(StandardCharsets.UTF_8);
  static final Digest EMPTY_CONFIG_DIGEST = Digest.of(EMPTY_CONFIG);

  private Signatures() {}

  static byte[] payload(Digest index) {
    return (HubFormat.SIGNATURE_PAYLOAD_PREFIX + index).getBytes(StandardCharsets.UTF_8);
  }

  /** A signature layer's blob and descriptor. */
  record SignatureLayer(Oci.Descriptor descriptor, byte[] blob) {}

  static SignatureLayer sign(Digest index, PrivateKey key) {
    byte[] sig = SigningKeys.sign(key, payload(index));
    String keyId = SigningKeys.keyId(SigningKeys.publicKeyOf(key));
    return new SignatureLayer(new Oci.Descriptor(HubFormat.SIGNATURE_ED25519, null, Digest.of(sig).toString(), sig.length,
        Map.of(HubFormat.SIGNATURE_KEY_ID, keyId)), sig);
  }

  /** The signature manifest: existing layers of other keys, plus {@code added}. */
  static Oci.Manifest manifest(Digest index, long indexSize, List<Oci.Descriptor> existing, Oci.Descriptor added) {
    Map<String, Oci.Descriptor> byKey = new LinkedHashMap<>();
    for (Oci.Descriptor d : existing) {
      byKey.put(d.annotation(HubFormat.SIGNATURE_KEY_ID), d);
    }
    byKey.put(added.annotation(HubFormat.SIGNATURE_KEY_ID), added);
    return new Oci.Manifest(2, HubFormat.OCI_MANIFEST, HubFormat.SIGNATURE_ARTIFACT_TYPE,
        new Oci.Descriptor(HubFormat.OCI_EMPTY, null, EMPTY_CONFIG_DIGEST.toString(), EMPTY_CONFIG.length, Map.of()),
        new ArrayList<>(byKey.values()),
        new Oci.Descriptor(HubFormat.OCI_INDEX, null, index.toString(), indexSize, Map.of()),
        Map.of(HubFormat.SIGNED_DIGEST, index.toString()));
  }

  /**
   * Checks the signature manifest (if any) of {@code index} against trusted keys. {@code blobs}
   * fetches a signature layer's bytes (already digest-checked).
   */
  static SignatureCheck check(Digest index, Optional<Oci.Manifest> manifest, List<PublicKey> trusted,
      Function<Oci.Descriptor, byte[]> blobs) {
    if (manifest.isEmpty()) {
      return new SignatureCheck(SignatureCheck.Status.UNSIGNED, null,
          "release " + index.shortHex() + " is unsigned (no " + index.signatureTag() + " signature)");
    }
    Map<String, PublicKey> byId = new LinkedHashMap<>();
    trusted.forEach(k -> byId.put(SigningKeys.keyId(k), k));
    List<String> untrusted = new ArrayList<>();
    String invalidKey = null;
    for (Oci.Descriptor layer : manifest.get().layers()) {
      if (!HubFormat.SIGNATURE_ED25519.equals(layer.mediaType())) {
        continue;
      }
      String keyId = layer.annotation(HubFormat.SIGNATURE_KEY_ID);
      PublicKey key = keyId == null ? null : byId.get(keyId);
      if (key == null) {
        untrusted.add(keyId == null ? "(no key id)" : shortId(keyId));
        continue;
      }
      if (SigningKeys.verify(key, payload(index), blobs.apply(layer))) {
        return new SignatureCheck(SignatureCheck.Status.VERIFIED, keyId,
            "release " + index.shortHex() + " is signed by trusted key " + shortId(keyId));
      }
      invalidKey = keyId;
    }
    if (invalidKey != null) {
      return new SignatureCheck(SignatureCheck.Status.INVALID, invalidKey, "the signature of release " + index.shortHex()
          + " by trusted key " + shortId(invalidKey) + " does not verify: the index or the signature was altered");
    }
    if (untrusted.isEmpty()) {
      return new SignatureCheck(SignatureCheck.Status.UNSIGNED, null,
          "release " + index.shortHex() + " is unsigned (its signature artifact holds no Ed25519 signature)");
    }
    return new SignatureCheck(SignatureCheck.Status.UNTRUSTED, null, "release " + index.shortHex()
        + " is signed only by keys that are not trusted here: " + String.join(", ", untrusted));
  }

  static String shortId(String keyId) {
    return keyId.startsWith("sha256:") && keyId.length() > 19 ? "sha256:" + keyId.substring(7, 19) : keyId;
  }
}
