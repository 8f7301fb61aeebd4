package dev.edgelm.hub;

import java.security.PrivateKey;
import java.util.Map;

/**
 * How to publish a release.
 *
 * @param signingKey Ed25519 private key to sign the index digest with, or null for an unsigned release
 * @param annotations extra index annotations (e.g. {@code org.opencontainers.image.source})
 */
public record PublishOptions(PrivateKey signingKey, Map<String, String> annotations) {
  public static final PublishOptions DEFAULT = new PublishOptions(null, Map.of());

  public PublishOptions {
    annotations = Map.copyOf(annotations);
  }

  public PublishOptions withSigningKey(PrivateKey key) {
    return new PublishOptions(key, annotations);
  }
}
