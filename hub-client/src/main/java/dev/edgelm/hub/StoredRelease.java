package dev.edgelm.hub;

import java.nio.file.Path;
import java.time.Instant;
import java.util.List;

/**
 * A release the local store holds variants of (one per reference; {@code edgelm ls}).
 *
 * @param reference the reference it was pulled by
 * @param updated when a pull last wrote this record
 */
public record StoredRelease(String reference, String model, Digest indexDigest, SignatureCheck.Status signature,
    Instant updated, List<StoredVariant> variants) {
  public StoredRelease {
    variants = List.copyOf(variants);
  }

  /** One pulled variant. */
  public record StoredVariant(String id, Digest manifestDigest, long bytes, Path packageDir) {}
}
