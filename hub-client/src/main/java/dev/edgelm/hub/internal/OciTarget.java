package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.Optional;

/**
 * One repository of a hub: a registry repository over HTTP, or an image-layout directory. The pull
 * and publish logic is written once against this interface.
 */
interface OciTarget {
  /** For messages, e.g. {@code 127.0.0.1:5000/models/tiny} or {@code oci:/srv/hub}. */
  String describe();

  /**
   * The manifest or index a tag or digest names.
   *
   * @throws dev.edgelm.hub.NotFoundException when it does not exist
   */
  Fetched fetchManifest(String tagOrDigest);

  /** Like {@link #fetchManifest}, but empty when it does not exist. */
  Optional<Fetched> fetchManifestIfExists(String tagOrDigest);

  /**
   * Opens a blob from byte {@code offset}. The target may ignore the offset (a server without Range
   * support): {@link BlobStream#start()} says where the stream really begins.
   */
  BlobStream openBlob(Digest digest, long size, long offset);

  boolean hasBlob(Digest digest, long size);

  /** Uploads a blob from a file (when {@code file} is set) or from {@code bytes}. */
  void pushBlob(Digest digest, long size, Path file, byte[] bytes);

  /** Stores a manifest or index under a tag, or under its digest when {@code tagOrDigest} is one. */
  void pushManifest(String tagOrDigest, byte[] bytes, String mediaType);

  /** A manifest or index as received, with the digest of exactly those bytes. */
  record Fetched(byte[] bytes, String mediaType, Digest digest) {}

  /** An open blob stream starting at byte {@code start} of the blob. */
  record BlobStream(InputStream in, long start) implements Closeable {
    @Override
    public void close() throws IOException {
      in.close();
    }
  }
}
