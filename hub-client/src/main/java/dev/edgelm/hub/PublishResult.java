package dev.edgelm.hub;

import java.util.Map;

/**
 * What a publish wrote.
 *
 * @param reference the release reference, pinned to {@link #indexDigest}
 * @param variants variant id → manifest digest
 * @param bytesUploaded bytes sent to the hub
 * @param bytesAlreadyPresent bytes the hub already had (skipped)
 * @param signatureKeyId key id of the signature added, or null when unsigned
 */
public record PublishResult(Reference reference, Digest indexDigest, Map<String, Digest> variants,
    long bytesUploaded, long bytesAlreadyPresent, String signatureKeyId) {
  public PublishResult {
    variants = Map.copyOf(variants);
  }
}
