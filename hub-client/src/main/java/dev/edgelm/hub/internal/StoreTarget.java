package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.OfflineMissException;
import dev.edgelm.hub.Reference;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Offline mode: the local store posing as the hub for a registry reference. Tags resolve through the
 * ref records earlier pulls wrote; manifests and configs come from stored blobs; anything else is an
 * {@link OfflineMissException}. No network connection is ever opened.
 */
final class StoreTarget implements OciTarget {
  private final Reference reference;
  private final BlobStore blobs;
  private final RefRecords refs;

  StoreTarget(Reference reference, BlobStore blobs, RefRecords refs) {
    this.reference = reference;
    this.blobs = blobs;
    this.refs = refs;
  }

  @Override
  public String describe() {
    return "the local store (offline) for " + reference;
  }

  @Override
  public Fetched fetchManifest(String tagOrDigest) {
    return fetchManifestIfExists(tagOrDigest).orElseThrow(() -> new OfflineMissException(
        "offline: the store has no pull of " + (tagOrDigest.startsWith("sha256:") ? reference.withDigest(Digest.parse(tagOrDigest)) : reference.withTag(tagOrDigest))
            + "; pull it once while online, or use a layout directory (oci:PATH:TAG)"));
  }

  @Override
  public Optional<Fetched> fetchManifestIfExists(String tagOrDigest) {
    Digest digest;
    if (tagOrDigest.startsWith("sha256:")) {
      digest = Digest.parse(tagOrDigest);
    } else if (tagOrDigest.startsWith("sha256-") && tagOrDigest.endsWith(".sig")) {
      String hex = tagOrDigest.substring(7, tagOrDigest.length() - 4);
      Optional<String> sig = refs.all().stream()
          .filter(r -> r.indexDigest() != null && r.indexDigest().endsWith(hex) && r.signatureManifest() != null)
          .map(RefRecords.Record::signatureManifest).findFirst();
      if (sig.isEmpty()) {
        return Optional.empty();
      }
      digest = Digest.parse(sig.get());
    } else {
      Optional<RefRecords.Record> r = refs.get(reference.withTag(tagOrDigest).toString());
      if (r.isEmpty()) {
        return Optional.empty();
      }
      digest = Digest.parse(r.get().indexDigest());
    }
    return blobs.read(digest).map(b -> new Fetched(b, Oci.mediaTypeOf(b), digest));
  }

  @Override
  public BlobStream openBlob(Digest digest, long size, long offset) {
    throw new OfflineMissException("offline: the store lacks blob " + digest + " (" + size + " bytes) of " + reference
        + "; pull it once while online");
  }

  @Override
  public boolean hasBlob(Digest digest, long size) {
    return blobs.has(digest, size);
  }

  @Override
  public void pushBlob(Digest digest, long size, Path file, byte[] bytes) {
    throw new OfflineMissException("offline: cannot publish to a registry; publish to a layout directory (oci:PATH:TAG) instead");
  }

  @Override
  public void pushManifest(String tagOrDigest, byte[] bytes, String mediaType) {
    throw new OfflineMissException("offline: cannot publish to a registry; publish to a layout directory (oci:PATH:TAG) instead");
  }
}
