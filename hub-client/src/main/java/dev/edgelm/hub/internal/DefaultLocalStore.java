package dev.edgelm.hub.internal;

import dev.edgelm.hub.Digest;
import dev.edgelm.hub.GcResult;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.LocalStore;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.SignatureCheck;
import dev.edgelm.hub.StoreException;
import dev.edgelm.hub.StoreVerification;
import dev.edgelm.hub.StoredRelease;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Listing, lookup, removal and garbage collection over a store (see {@link DefaultHub} for the
 * layout). GC keeps, for every ref record: the index, its signature artifact, the manifests and
 * configs of all its variants that are present (small; what a host chose from), and the files and
 * package directory of each pulled variant. Everything else in {@code blobs/} and {@code packages/}
 * goes, and so do partial downloads whose lock no process holds.
 */
final class DefaultLocalStore implements LocalStore {
  private final Path root;
  private final BlobStore blobs;
  private final RefRecords refs;
  private final Path packages;
  private final StoreLock lock;

  DefaultLocalStore(Path root, BlobStore blobs, RefRecords refs, Path packages, StoreLock lock) {
    this.root = root;
    this.blobs = blobs;
    this.refs = refs;
    this.packages = packages;
    this.lock = lock;
  }

  @Override
  public Path root() {
    return root;
  }

  @Override
  public List<StoredRelease> list() {
    List<StoredRelease> out = new ArrayList<>();
    for (RefRecords.Record r : refs.all()) {
      List<StoredRelease.StoredVariant> vs = new ArrayList<>();
      for (Map.Entry<String, String> v : r.variants().entrySet()) {
        Digest m = Digest.parse(v.getValue());
        Path pkg = packages.resolve(m.hex());
        vs.add(new StoredRelease.StoredVariant(v.getKey(), m, manifestBytes(m), Files.isDirectory(pkg) ? pkg : null));
      }
      out.add(new StoredRelease(r.reference(), r.model(), Digest.parse(r.indexDigest()), status(r.signature()),
          r.updated() == null ? Instant.EPOCH : Instant.parse(r.updated()), vs));
    }
    return out;
  }

  private static SignatureCheck.Status status(String s) {
    try {
      return s == null ? SignatureCheck.Status.NOT_CHECKED : SignatureCheck.Status.valueOf(s);
    } catch (IllegalArgumentException e) {
      return SignatureCheck.Status.NOT_CHECKED;
    }
  }

  private long manifestBytes(Digest manifest) {
    return blobs.read(manifest).map(b -> Oci.read(b, Oci.Manifest.class, "manifest " + manifest).layers().stream()
        .mapToLong(Oci.Descriptor::size).sum()).orElse(0L);
  }

  @Override
  public Optional<InstalledVariant> find(Reference reference, String variantId) {
    Optional<RefRecords.Record> r = refs.get(reference.toString());
    if (r.isEmpty() || !r.get().variants().containsKey(variantId)) {
      return Optional.empty();
    }
    Digest m = Digest.parse(r.get().variants().get(variantId));
    Path pkg = packages.resolve(m.hex());
    Path descriptor = pkg.resolve(ReleaseCodec.DESCRIPTOR_FILE);
    if (!Files.isRegularFile(descriptor)) {
      return Optional.empty();
    }
    try {
      var d = ReleaseCodec.parseDescriptor(Files.readAllBytes(descriptor), descriptor.toString());
      return Optional.of(new InstalledVariant(reference, Digest.parse(r.get().indexDigest()), variantId, m, pkg, d, 0, manifestBytes(m)));
    } catch (IOException e) {
      throw new StoreException("cannot read " + descriptor + ": " + e.getMessage(), e);
    }
  }

  @Override
  public boolean remove(Reference reference) {
    boolean[] existed = {false};
    refs.update(reference.toString(), old -> {
      existed[0] = old != null;
      return null;
    });
    return existed[0];
  }

  @Override
  public StoreVerification verify() {
    try (StoreLock.Held ignored = lock.shared()) {
      List<StoreVerification.Damaged> damaged = new ArrayList<>();
      int files = 0;
      long bytes = 0;
      for (Path p : children(blobs.blobDir())) {
        String name = p.getFileName().toString();
        files++;
        bytes += sizeOf(p);
        Digest expected;
        try {
          expected = Digest.parse(Digest.ALGORITHM + ":" + name);
        } catch (RuntimeException notADigest) {
          damaged.add(new StoreVerification.Damaged(p, "is not named by a sha256 digest; remove it"));
          continue;
        }
        Digest actual = digestOf(p);
        if (!actual.equals(expected)) {
          damaged.add(new StoreVerification.Damaged(p, "holds content with digest " + actual + ", not the digest it is stored under"
              + " (damaged on disk); pull the release that uses it again: pull replaces damaged files"));
        }
      }
      for (Path pkg : children(packages)) {
        if (pkg.getFileName().toString().startsWith(".")) {
          continue;
        }
        for (Map.Entry<String, Digest> f : packageFiles(pkg).entrySet()) {
          Path file = pkg.resolve(f.getKey());
          Path blob = blobs.path(f.getValue());
          if (!Files.isRegularFile(file)) {
            damaged.add(new StoreVerification.Damaged(file, "is missing; pull its release again"));
            continue;
          }
          if (sameFile(file, blob)) {
            continue; // a hard link to a blob checked above
          }
          files++;
          bytes += sizeOf(file);
          if (!digestOf(file).equals(f.getValue())) {
            damaged.add(new StoreVerification.Damaged(file, "does not match its digest " + f.getValue() + " (damaged on disk);"
                + " pull its release again: pull replaces damaged files"));
          }
        }
      }
      damaged.sort(java.util.Comparator.comparing(StoreVerification.Damaged::file));
      return new StoreVerification(files, bytes, damaged);
    }
  }

  /** The files a package directory should hold, by relative path, with their digests (from its manifest). */
  private Map<String, Digest> packageFiles(Path pkg) {
    Map<String, Digest> out = new java.util.TreeMap<>();
    Digest manifest;
    try {
      manifest = Digest.parse(Digest.ALGORITHM + ":" + pkg.getFileName());
    } catch (RuntimeException notADigest) {
      return out;
    }
    blobs.read(manifest).ifPresent(b -> {
      Oci.Manifest m = Oci.read(b, Oci.Manifest.class, "manifest " + manifest);
      for (Oci.Descriptor l : m.layers()) {
        String title = l.annotation(dev.edgelm.hub.HubFormat.TITLE);
        if (title != null) {
          out.put(title, l.parsedDigest());
        }
      }
      if (m.config() != null) {
        out.put(ReleaseCodec.DESCRIPTOR_FILE, m.config().parsedDigest());
      }
    });
    return out;
  }

  private static boolean sameFile(Path a, Path b) {
    try {
      return Files.exists(b) && Files.isSameFile(a, b);
    } catch (IOException e) {
      return false;
    }
  }

  private static Digest digestOf(Path file) {
    try {
      return Digest.of(file);
    } catch (IOException e) {
      throw new StoreException("cannot read " + file + ": " + e.getMessage(), e);
    }
  }

  @Override
  public GcResult gc() {
    try (StoreLock.Held ignored = lock.exclusive()) {
      Set<String> keepBlobs = new HashSet<>();
      Set<String> keepPackages = new HashSet<>();
      for (RefRecords.Record r : refs.all()) {
        keepReachable(r, keepBlobs, keepPackages);
      }
      int removed = 0;
      long freed = 0;
      int kept = 0;
      long keptBytes = 0;
      for (Path p : children(blobs.blobDir())) {
        long size = sizeOf(p);
        if (keepBlobs.contains(p.getFileName().toString())) {
          kept++;
          keptBytes += size;
        } else {
          deleteTree(p);
          removed++;
          freed += size;
        }
      }
      int packagesRemoved = 0;
      for (Path p : children(packages)) {
        if (!keepPackages.contains(p.getFileName().toString())) {
          deleteTree(p);
          packagesRemoved++;
        }
      }
      int partials = removeIdlePartials();
      return new GcResult(removed, freed, packagesRemoved, partials, kept, keptBytes);
    }
  }

  private void keepReachable(RefRecords.Record r, Set<String> keepBlobs, Set<String> keepPackages) {
    Digest index = Digest.parse(r.indexDigest());
    keepBlobs.add(index.hex());
    if (r.signatureManifest() != null) {
      Digest sm = Digest.parse(r.signatureManifest());
      keepBlobs.add(sm.hex());
      blobs.read(sm).ifPresent(b -> keepManifestBlobs(Oci.read(b, Oci.Manifest.class, "signature manifest"), keepBlobs, true));
    }
    blobs.read(index).ifPresent(b -> {
      for (Oci.Descriptor d : Oci.read(b, Oci.Index.class, "index " + index).manifests()) {
        Digest m = d.parsedDigest();
        keepBlobs.add(m.hex());
        blobs.read(m).ifPresent(mb -> keepManifestBlobs(Oci.read(mb, Oci.Manifest.class, "manifest " + m), keepBlobs, false));
      }
    });
    for (String manifest : r.variants().values()) {
      Digest m = Digest.parse(manifest);
      keepBlobs.add(m.hex());
      keepPackages.add(m.hex());
      blobs.read(m).ifPresent(mb -> keepManifestBlobs(Oci.read(mb, Oci.Manifest.class, "manifest " + m), keepBlobs, true));
    }
  }

  private static void keepManifestBlobs(Oci.Manifest m, Set<String> keep, boolean withLayers) {
    if (m.config() != null) {
      keep.add(m.config().parsedDigest().hex());
    }
    if (withLayers) {
      m.layers().forEach(l -> keep.add(l.parsedDigest().hex()));
    }
  }

  private int removeIdlePartials() {
    int n = 0;
    for (Path p : children(blobs.ingestDir())) {
      String name = p.getFileName().toString();
      if (name.startsWith(".tmp-")) {
        deleteTree(p);
        continue;
      }
      if (!name.endsWith(".partial")) {
        continue;
      }
      Path lockFile = p.resolveSibling(name.substring(0, name.length() - ".partial".length()) + ".lock");
      try (FileChannel ch = FileChannel.open(lockFile, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
          FileLock l = ch.tryLock()) {
        if (l != null) {
          Files.deleteIfExists(p);
          n++;
        }
      } catch (IOException | java.nio.channels.OverlappingFileLockException e) {
        // Busy or unreadable: leave it.
      }
    }
    return n;
  }

  private static List<Path> children(Path dir) {
    List<Path> out = new ArrayList<>();
    if (!Files.isDirectory(dir)) {
      return out;
    }
    try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
      ds.forEach(out::add);
    } catch (IOException e) {
      throw new StoreException("cannot list " + dir + ": " + e.getMessage(), e);
    }
    return out;
  }

  private static long sizeOf(Path p) {
    try {
      return Files.size(p);
    } catch (IOException e) {
      return 0;
    }
  }

  static void deleteTree(Path p) {
    try {
      if (!Files.exists(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
        return;
      }
      Files.walkFileTree(p, new SimpleFileVisitor<>() {
        @Override
        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
          Files.deleteIfExists(file);
          return FileVisitResult.CONTINUE;
        }

        @Override
        public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
          Files.deleteIfExists(dir);
          return FileVisitResult.CONTINUE;
        }
      });
    } catch (NoSuchFileException ignored) {
      // Gone already.
    } catch (IOException e) {
      throw new StoreException("cannot delete " + p + ": " + e.getMessage(), e);
    }
  }
}
