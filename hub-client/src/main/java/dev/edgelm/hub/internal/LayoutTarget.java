package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.StoreException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * An OCI image-layout directory ({@code oci-layout}, {@code index.json}, {@code blobs/sha256/}).
 * Tags are {@code org.opencontainers.image.ref.name} annotations on {@code index.json} entries, as
 * skopeo's {@code oci:} transport reads them. Writers hold an exclusive lock on the {@code oci-layout}
 * file (never replaced) while they rewrite {@code index.json}, which is replaced atomically.
 */
final class LayoutTarget implements OciTarget {
  private final Path root;

  private LayoutTarget(Path root) {
    this.root = root;
  }

  /** Opens an existing layout; with {@code create}, makes an empty one when the directory has none. */
  static LayoutTarget open(Path root, boolean create) {
    Path marker = root.resolve("oci-layout");
    if (!Files.isRegularFile(marker)) {
      if (!create) {
        throw new NotFoundException("oci:" + root + " is not an OCI image layout (no oci-layout file)");
      }
      try {
        Files.createDirectories(root.resolve("blobs").resolve("sha256"));
        writeAtomically(root.resolve("index.json"), Oci.write(new Oci.Index(2, HubFormat.OCI_INDEX, null, List.of(), Map.of())), true);
        writeAtomically(marker, Oci.write(new Oci.LayoutMarker(HubFormat.OCI_LAYOUT_VERSION)), true);
      } catch (IOException e) {
        throw new StoreException("cannot create OCI layout " + root + ": " + e.getMessage(), e);
      }
    }
    return new LayoutTarget(root);
  }

  @Override
  public String describe() {
    return "oci:" + root;
  }

  @Override
  public Fetched fetchManifest(String tagOrDigest) {
    return fetchManifestIfExists(tagOrDigest).orElseThrow(() -> new NotFoundException(
        (tagOrDigest.startsWith("sha256:") ? "manifest " + tagOrDigest : "tag '" + tagOrDigest + "'") + " not found in " + describe()));
  }

  @Override
  public Optional<Fetched> fetchManifestIfExists(String tagOrDigest) {
    Digest digest;
    String mediaType = null;
    if (tagOrDigest.startsWith("sha256:")) {
      digest = Digest.parse(tagOrDigest);
    } else {
      Optional<Oci.Descriptor> entry = readIndex().manifests().stream()
          .filter(d -> tagOrDigest.equals(d.annotation(HubFormat.REF_NAME))).reduce((a, b) -> b);
      if (entry.isEmpty()) {
        return Optional.empty();
      }
      digest = entry.get().parsedDigest();
      mediaType = entry.get().mediaType();
    }
    Path blob = blobPath(digest);
    byte[] bytes;
    try {
      bytes = Files.readAllBytes(blob);
    } catch (NoSuchFileException e) {
      return Optional.empty();
    } catch (IOException e) {
      throw new StoreException("cannot read " + blob + ": " + e.getMessage(), e);
    }
    if (!Digest.of(bytes).equals(digest)) {
      throw new IntegrityException("layout blob " + blob + " does not match its digest: the layout directory is corrupt");
    }
    return Optional.of(new Fetched(bytes, mediaType != null ? mediaType : Oci.mediaTypeOf(bytes), digest));
  }

  @Override
  public BlobStream openBlob(Digest digest, long size, long offset) {
    Path blob = blobPath(digest);
    try {
      FileChannel ch = FileChannel.open(blob, StandardOpenOption.READ);
      ch.position(offset);
      InputStream in = Channels.newInputStream(ch);
      return new BlobStream(in, offset);
    } catch (NoSuchFileException e) {
      throw new NotFoundException("blob " + digest + " not found in " + describe());
    } catch (IOException e) {
      throw new StoreException("cannot read " + blob + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean hasBlob(Digest digest, long size) {
    Path p = blobPath(digest);
    try {
      return Files.isRegularFile(p) && Files.size(p) == size;
    } catch (IOException e) {
      return false;
    }
  }

  @Override
  public void pushBlob(Digest digest, long size, Path file, byte[] bytes) {
    Path target = blobPath(digest);
    if (hasBlob(digest, size)) {
      return;
    }
    Path tmp = target.resolveSibling(".tmp-" + UUID.randomUUID());
    try {
      Files.createDirectories(target.getParent());
      if (file != null) {
        Files.copy(file, tmp);
      } else {
        Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW);
      }
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } catch (IOException e) {
      throw new StoreException("cannot write blob " + target + ": " + e.getMessage(), e);
    } finally {
      try {
        Files.deleteIfExists(tmp);
      } catch (IOException ignored) {
        // Left for the next writer to overwrite.
      }
    }
  }

  @Override
  public void pushManifest(String tagOrDigest, byte[] bytes, String mediaType) {
    Digest digest = Digest.of(bytes);
    pushBlob(digest, bytes.length, null, bytes);
    if (tagOrDigest.startsWith("sha256:")) {
      return;
    }
    try (FileChannel lockCh = FileChannel.open(root.resolve("oci-layout"), StandardOpenOption.READ, StandardOpenOption.WRITE);
        FileLock ignored = lockCh.lock()) {
      Oci.Index index = readIndex();
      List<Oci.Descriptor> entries = new ArrayList<>();
      for (Oci.Descriptor d : index.manifests()) {
        if (!tagOrDigest.equals(d.annotation(HubFormat.REF_NAME))) {
          entries.add(d);
        }
      }
      entries.add(new Oci.Descriptor(mediaType, null, digest.toString(), bytes.length, Map.of(HubFormat.REF_NAME, tagOrDigest)));
      writeAtomically(root.resolve("index.json"),
          Oci.write(new Oci.Index(2, HubFormat.OCI_INDEX, null, entries, index.annotations())), false);
    } catch (IOException e) {
      throw new StoreException("cannot update " + root.resolve("index.json") + ": " + e.getMessage(), e);
    }
  }

  private Oci.Index readIndex() {
    Path p = root.resolve("index.json");
    try {
      return Oci.read(Files.readAllBytes(p), Oci.Index.class, p.toString());
    } catch (NoSuchFileException e) {
      throw new InvalidReleaseException("oci:" + root + " has no index.json");
    } catch (IOException e) {
      throw new StoreException("cannot read " + p + ": " + e.getMessage(), e);
    }
  }

  private Path blobPath(Digest d) {
    return root.resolve("blobs").resolve(Digest.ALGORITHM).resolve(d.hex());
  }

  private static void writeAtomically(Path target, byte[] bytes, boolean onlyIfAbsent) throws IOException {
    if (onlyIfAbsent && Files.exists(target)) {
      return;
    }
    Path tmp = target.resolveSibling("." + target.getFileName() + ".tmp-" + UUID.randomUUID());
    try {
      Files.write(tmp, bytes, StandardOpenOption.CREATE_NEW);
      Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }
}
