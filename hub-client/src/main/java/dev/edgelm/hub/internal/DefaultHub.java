package dev.edgelm.hub.internal;

import dev.edgelm.hub.BadReferenceException;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.Hub;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.HubOptions;
import dev.edgelm.hub.InstalledVariant;
import dev.edgelm.hub.InsufficientDiskException;
import dev.edgelm.hub.IntegrityException;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.LocalStore;
import dev.edgelm.hub.NotFoundException;
import dev.edgelm.hub.OfflineMissException;
import dev.edgelm.hub.PackageLayer;
import dev.edgelm.hub.ProgressListener;
import dev.edgelm.hub.PublishOptions;
import dev.edgelm.hub.PublishResult;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.Release;
import dev.edgelm.hub.SignatureCheck;
import dev.edgelm.hub.SignaturePolicy;
import dev.edgelm.hub.SignatureRejectedException;
import dev.edgelm.hub.SigningKeys;
import dev.edgelm.hub.StoreException;
import dev.edgelm.hub.VariantDetails;
import dev.edgelm.hub.VariantEntry;
import java.io.IOException;
import java.io.InputStream;
import java.net.http.HttpClient;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.PrivateKey;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.stream.Collectors;

/**
 * The hub client. Store layout under the root:
 *
 * <pre>
 *   blobs/sha256/&lt;hex&gt;     every blob (files, configs, manifests, indexes, signatures), read-only, once
 *   ingest/&lt;hex&gt;.partial   downloads in progress (resumable), ingest/&lt;hex&gt;.lock their OS locks
 *   packages/&lt;manifest hex&gt;/  pulled variants as package dirs: hard links to blobs named by layer title
 *   refs/&lt;hash&gt;.json       one record per reference pulled (GC roots; offline tag resolution)
 *   store.lock                shared by pulls, exclusive for GC
 * </pre>
 *
 * <p>Every remote operation runs against an {@link OciTarget}: a registry, a layout directory, or
 * (offline) the store itself, so resolve/pull/publish are written once.
 */
public final class DefaultHub implements Hub {
  private static final long MAX_SMALL_BLOB = 16 << 20;

  private final HubOptions options;
  private final Path root;
  private final BlobStore blobs;
  private final RefRecords refs;
  private final Path packages;
  private final StoreLock lock;
  private final RegistryAuth auth;
  private final RateLimiter limiter;
  private final ConcurrentMap<Digest, Digest> signatureManifests = new ConcurrentHashMap<>();
  private final DefaultLocalStore store;
  private HttpClient http;

  private DefaultHub(HubOptions options) {
    this.options = options;
    this.root = options.storeDir().toAbsolutePath().normalize();
    try {
      Files.createDirectories(root);
    } catch (IOException e) {
      throw new StoreException("cannot create the store directory " + root + ": " + e.getMessage(), e);
    }
    this.blobs = new BlobStore(root);
    this.refs = new RefRecords(root.resolve("refs"));
    this.packages = root.resolve("packages");
    this.lock = StoreLock.of(root);
    this.auth = new RegistryAuth(options.credentials(), options.requestTimeout());
    this.limiter = new RateLimiter(options.bandwidthLimit(), options.ticker(), options.sleeper());
    this.store = new DefaultLocalStore(root, blobs, refs, packages, lock);
  }

  /** See {@link Hub#open}. */
  public static Hub open(HubOptions options) {
    return new DefaultHub(options);
  }

  // ---- resolve -------------------------------------------------------------------------------

  @Override
  public Release resolve(Reference reference, ProgressListener listener) {
    OciTarget t = target(reference, listener, false);
    String name = reference.digest().map(Digest::toString).orElseGet(() -> reference.tag().orElseThrow());
    OciTarget.Fetched f = t.fetchManifest(name);
    ReleaseCodec.ParsedIndex parsed = ReleaseCodec.parseIndex(reference, f);
    try (StoreLock.Held ignored = lock.shared()) {
      blobs.put(f.digest(), f.bytes());
      SignatureCheck sig = checkSignature(t, f.digest());
      if (options.signaturePolicy() == SignaturePolicy.REQUIRE && !sig.verified()) {
        throw new SignatureRejectedException("refusing " + reference + " under signature policy 'require': " + sig.message());
      }
      return new Release(reference, f.digest(), parsed.model(), parsed.index().annotations(), parsed.variants(), sig,
          t instanceof StoreTarget);
    }
  }

  private SignatureCheck checkSignature(OciTarget t, Digest index) {
    if (options.signaturePolicy() == SignaturePolicy.OFF) {
      return new SignatureCheck(SignatureCheck.Status.NOT_CHECKED, null, "signatures not checked (policy off)");
    }
    Optional<OciTarget.Fetched> sm = t.fetchManifestIfExists(index.signatureTag());
    Optional<Oci.Manifest> manifest = Optional.empty();
    if (sm.isPresent()) {
      Oci.Manifest m = Oci.read(sm.get().bytes(), Oci.Manifest.class, "the signature manifest of " + index);
      if (HubFormat.SIGNATURE_ARTIFACT_TYPE.equals(m.artifactType())) {
        manifest = Optional.of(m);
        blobs.put(sm.get().digest(), sm.get().bytes());
        blobs.put(Signatures.EMPTY_CONFIG_DIGEST, Signatures.EMPTY_CONFIG);
        signatureManifests.put(index, sm.get().digest());
      }
    }
    return Signatures.check(index, manifest, options.trustedKeys(), d -> smallBlob(t, d.parsedDigest(), d.size()));
  }

  // ---- details -------------------------------------------------------------------------------

  @Override
  public VariantDetails details(Release release, String variantId) {
    VariantEntry e = entry(release, variantId);
    try (StoreLock.Held ignored = lock.shared()) {
      return details(target(release.reference(), ProgressListener.NONE, false), e);
    }
  }

  private VariantDetails details(OciTarget t, VariantEntry e) {
    byte[] mb = blobs.read(e.manifestDigest()).orElseGet(() -> {
      OciTarget.Fetched f = t.fetchManifest(e.manifestDigest().toString());
      blobs.put(f.digest(), f.bytes());
      return f.bytes();
    });
    if (e.manifestSize() > 0 && mb.length != e.manifestSize()) {
      throw new IntegrityException("manifest of variant '" + e.id() + "' has " + mb.length + " bytes, the index says " + e.manifestSize());
    }
    Oci.Manifest m = ReleaseCodec.parseManifest(e, mb);
    Digest cd = m.config().parsedDigest();
    byte[] config = smallBlob(t, cd, m.config().size());
    return ReleaseCodec.details(e, m, config, cd);
  }

  /** A small blob from the store, or fetched, verified and stored. */
  private byte[] smallBlob(OciTarget t, Digest d, long size) {
    Optional<byte[]> local = blobs.read(d);
    if (local.isPresent()) {
      return local.get();
    }
    if (size < 0 || size > MAX_SMALL_BLOB) {
      throw new InvalidReleaseException("blob " + d + " declares " + size + " bytes; configs and signatures must be small");
    }
    byte[] bytes;
    try (OciTarget.BlobStream s = t.openBlob(d, size, 0); InputStream in = s.in()) {
      bytes = in.readNBytes((int) size + 1);
    } catch (IOException e) {
      throw new dev.edgelm.hub.UnavailableException("reading blob " + d + " from " + t.describe() + " failed: " + e.getMessage(), e);
    }
    if (bytes.length != size || !Digest.of(bytes).equals(d)) {
      throw new IntegrityException("blob " + d + " from " + t.describe() + " does not match its digest or size");
    }
    blobs.put(d, bytes);
    return bytes;
  }

  // ---- pull ----------------------------------------------------------------------------------

  @Override
  public InstalledVariant pull(Release release, String variantId, ProgressListener listener) {
    VariantEntry e = entry(release, variantId);
    try (StoreLock.Held ignored = lock.shared()) {
      return pullLocked(release, e, listener);
    }
  }

  private InstalledVariant pullLocked(Release release, VariantEntry e, ProgressListener listener) {
    OciTarget t = target(release.reference(), listener, false);
    checkEntryIsInIndex(t, release, e);
    VariantDetails det = details(t, e);
    Path pkg = packages.resolve(e.manifestDigest().hex());
    TransferMeter meter = new TransferMeter(listener, options.ticker());
    long total = det.downloadBytes();
    // What the store holds is re-verified before it is reused: bytes can rot on disk after a pull.
    // A damaged package directory is taken apart and a damaged blob removed, then fetched again.
    if (Files.isDirectory(pkg) && !packageIntact(det, pkg)) {
      DefaultLocalStore.deleteTree(pkg);
    }
    if (Files.isDirectory(pkg)) {
      meter.start(total, total, det.files().size());
    } else {
      List<PackageLayer> damaged = new ArrayList<>();
      List<PackageLayer> missing = new ArrayList<>();
      for (PackageLayer l : det.files()) {
        BlobStore.Check c = blobs.check(l.digest(), l.size());
        if (c != BlobStore.Check.INTACT) {
          missing.add(l);
        }
        if (c == BlobStore.Check.DAMAGED) {
          damaged.add(l);
          listener.damagedInStore(l.path(), l.digest());
        }
      }
      if (!damaged.isEmpty() && t instanceof StoreTarget) {
        throw new IntegrityException("the store's copy of " + damaged.stream().map(PackageLayer::path).collect(Collectors.joining(", "))
            + " of variant '" + e.id() + "' of " + release.reference() + " no longer matches its digest (damaged on disk) and was removed;"
            + " pull it again while online");
      }
      long present = 0;
      long need = 0;
      for (PackageLayer l : det.files()) {
        long partial = missing.contains(l) ? Math.min(blobs.partialSize(l.digest()), l.size()) : l.size();
        present += partial;
        need += l.size() - partial;
      }
      if (!missing.isEmpty() && t instanceof StoreTarget) {
        throw new OfflineMissException("offline: the store lacks " + missing.stream().map(PackageLayer::path).collect(Collectors.joining(", "))
            + " of variant '" + e.id() + "' of " + release.reference() + "; pull it once while online");
      }
      checkDisk(need, e.id());
      meter.start(total, present, det.files().size());
      Retrier retrier = new Retrier(options.retry(), options.ticker(), options.sleeper(), listener);
      Set<Digest> done = new HashSet<>();
      for (PackageLayer l : det.files()) {
        if (!done.add(l.digest())) {
          meter.fileCompleted(l.path(), l.digest(), l.size(), true);
          continue;
        }
        meter.file(l.path());
        boolean local = blobs.fetch(l.digest(), l.size(), new BlobStore.Fetch(t, l.path(), meter, limiter, retrier));
        meter.fileCompleted(l.path(), l.digest(), l.size(), local);
      }
      materialise(det, pkg);
    }
    recordPull(release, e);
    meter.finish();
    return new InstalledVariant(release.reference(), release.indexDigest(), e.id(), e.manifestDigest(), pkg, det.descriptor(),
        meter.transferred(), Math.max(0, total - meter.transferred()));
  }

  /**
   * The variant must be one the release's index (as stored by resolve, digest-checked) lists, and,
   * under policy require, the release must have verified: a {@link Release} is a plain record, and
   * this keeps a hand-made one from pulling unverified content.
   */
  private void checkEntryIsInIndex(OciTarget t, Release release, VariantEntry e) {
    if (options.signaturePolicy() == SignaturePolicy.REQUIRE && !release.signature().verified()) {
      throw new SignatureRejectedException("refusing " + release.reference() + " under signature policy 'require': "
          + release.signature().message());
    }
    byte[] index = blobs.read(release.indexDigest())
        .orElseGet(() -> t.fetchManifest(release.indexDigest().toString()).bytes());
    boolean listed = Oci.read(index, Oci.Index.class, "the index of " + release.reference()).manifests().stream()
        .anyMatch(d -> e.manifestDigest().toString().equals(d.digest()) && e.id().equals(d.annotation(HubFormat.VARIANT_ID)));
    if (!listed) {
      throw new InvalidReleaseException("variant '" + e.id() + "' (" + e.manifestDigest() + ") is not in release "
          + release.indexDigest() + " of " + release.reference());
    }
  }

  private void checkDisk(long need, String variantId) {
    if (need <= 0) {
      return;
    }
    long usable;
    try {
      usable = options.diskSpace().usableBytes(root);
    } catch (IOException ex) {
      throw new StoreException("cannot read the free space of " + root + ": " + ex.getMessage(), ex);
    }
    if (usable < need + options.minFreeBytes()) {
      throw new InsufficientDiskException("not enough disk for variant '" + variantId + "': it needs " + need
          + " bytes plus a reserve of " + options.minFreeBytes() + ", but " + root + " has " + usable
          + " usable; free space (e.g. edgelm gc) or choose a smaller variant");
    }
  }

  /**
   * Whether every file of the package directory (and its {@code variant.json}) still has the bytes
   * its manifest names. Package files are normally hard links to store blobs; where the file system
   * made copies, the copies are what the engine reads, so the files themselves are checked.
   */
  private boolean packageIntact(VariantDetails det, Path pkg) {
    try {
      for (PackageLayer l : det.files()) {
        if (!VerifiedFiles.matches(pkg.resolve(l.path()), l.digest(), l.size())) {
          return false;
        }
      }
      return VerifiedFiles.matches(pkg.resolve(ReleaseCodec.DESCRIPTOR_FILE), det.configDigest(), -1);
    } catch (IOException ex) {
      return false;
    }
  }

  private void materialise(VariantDetails det, Path pkg) {
    Path staging = packages.resolve(".staging-" + UUID.randomUUID());
    try {
      Files.createDirectories(staging);
      for (PackageLayer l : det.files()) {
        Path dst = staging.resolve(l.path());
        Files.createDirectories(dst.getParent());
        link(dst, blobs.path(l.digest()));
      }
      link(staging.resolve(ReleaseCodec.DESCRIPTOR_FILE), blobs.path(det.configDigest()));
      try {
        Files.move(staging, pkg, StandardCopyOption.ATOMIC_MOVE);
      } catch (IOException raced) {
        if (!Files.isDirectory(pkg)) {
          throw raced;
        }
        DefaultLocalStore.deleteTree(staging); // another pull installed the same manifest first
      }
    } catch (IOException ex) {
      DefaultLocalStore.deleteTree(staging);
      throw new StoreException("cannot create package directory " + pkg + ": " + ex.getMessage(), ex);
    }
  }

  private static void link(Path dst, Path blob) throws IOException {
    try {
      Files.createLink(dst, blob);
    } catch (UnsupportedOperationException | IOException notOnThisFs) {
      Files.copy(blob, dst);
    }
  }

  private void recordPull(Release release, VariantEntry e) {
    String key = release.reference().toString();
    refs.update(key, old -> {
      boolean sameIndex = old != null && release.indexDigest().toString().equals(old.indexDigest());
      Map<String, String> variants = sameIndex ? new TreeMap<>(old.variants()) : new TreeMap<>();
      variants.put(e.id(), e.manifestDigest().toString());
      Digest sig = signatureManifests.get(release.indexDigest());
      String sigManifest = sig != null ? sig.toString() : sameIndex ? old.signatureManifest() : null;
      return new RefRecords.Record(key, release.model(), release.indexDigest().toString(), sigManifest,
          release.signature().status().name(), options.ticker().now().toString(), variants);
    });
  }

  private static VariantEntry entry(Release release, String variantId) {
    if (variantId == null) {
      if (release.variants().size() == 1) {
        return release.variants().get(0);
      }
      throw new NotFoundException(release.reference() + " has " + release.variants().size() + " variants ("
          + String.join(", ", release.variantIds()) + "); name one");
    }
    return release.variant(variantId).orElseThrow(() -> new NotFoundException(release.reference() + " has no variant '"
        + variantId + "'; it has: " + String.join(", ", release.variantIds())));
  }

  // ---- publish -------------------------------------------------------------------------------

  @Override
  public PublishResult publish(List<Path> packageDirs, Reference target, PublishOptions publishOptions, ProgressListener listener) {
    if (packageDirs.isEmpty()) {
      throw new InvalidReleaseException("nothing to publish: name at least one package directory");
    }
    if (target.digest().isPresent()) {
      throw new BadReferenceException("publish needs a tag, not a digest: " + target);
    }
    String tag = target.tag().orElseThrow();
    List<ReleaseCodec.SourcePackage> pkgs = new ArrayList<>();
    Map<String, Path> ids = new LinkedHashMap<>();
    for (Path dir : packageDirs) {
      ReleaseCodec.SourcePackage p = ReleaseCodec.readPackage(dir);
      Path clash = ids.put(p.descriptor().getId(), dir);
      if (clash != null) {
        throw new InvalidReleaseException("variant id '" + p.descriptor().getId() + "' appears twice: " + clash + " and " + dir);
      }
      pkgs.add(p);
    }
    Set<String> models = pkgs.stream().map(p -> p.descriptor().getModel()).collect(Collectors.toCollection(java.util.TreeSet::new));
    if (models.size() > 1) {
      throw new InvalidReleaseException("a release holds variants of one model, but these packages are of " + models);
    }
    OciTarget t = target(target, listener, true);
    TransferMeter meter = new TransferMeter(listener, options.ticker());
    long total = pkgs.stream().mapToLong(p -> p.bytes() + p.config().length).sum();
    meter.start(total, 0, pkgs.stream().mapToInt(p -> p.files().size() + 1).sum());
    long uploaded = 0;
    long skipped = 0;
    Set<Digest> pushed = new HashSet<>();
    List<Oci.Descriptor> entries = new ArrayList<>();
    Map<String, Digest> variants = new LinkedHashMap<>();
    for (ReleaseCodec.SourcePackage p : pkgs) {
      for (ReleaseCodec.SourceFile f : p.files()) {
        long[] r = pushOnce(t, meter, pushed, f.path(), f.digest(), f.size(), f.file(), null);
        uploaded += r[0];
        skipped += r[1];
      }
      long[] r = pushOnce(t, meter, pushed, p.descriptor().getId() + "/" + ReleaseCodec.DESCRIPTOR_FILE, p.configDigest(),
          p.config().length, null, p.config());
      uploaded += r[0];
      skipped += r[1];
      byte[] manifest = Oci.write(ReleaseCodec.manifest(p));
      Digest md = Digest.of(manifest);
      t.pushManifest(md.toString(), manifest, HubFormat.OCI_MANIFEST);
      entries.add(ReleaseCodec.indexEntry(p, md, manifest.length));
      variants.put(p.descriptor().getId(), md);
    }
    byte[] index = Oci.write(ReleaseCodec.index(entries, models.iterator().next(), publishOptions.annotations()));
    Digest indexDigest = Digest.of(index);
    t.pushManifest(tag, index, HubFormat.OCI_INDEX);
    String keyId = publishOptions.signingKey() == null ? null : signIndex(t, indexDigest, index.length, publishOptions.signingKey());
    meter.finish();
    return new PublishResult(target.withDigest(indexDigest), indexDigest, variants, uploaded, skipped, keyId);
  }

  /** Uploads a blob unless the target has it; returns {uploaded, skipped} bytes. */
  private static long[] pushOnce(OciTarget t, TransferMeter meter, Set<Digest> pushed, String name, Digest d, long size,
      Path file, byte[] bytes) {
    meter.file(name);
    if (!pushed.add(d) || t.hasBlob(d, size)) {
      meter.skip(size);
      meter.fileCompleted(name, d, size, true);
      return new long[] {0, size};
    }
    t.pushBlob(d, size, file, bytes);
    meter.advance(size);
    meter.fileCompleted(name, d, size, false);
    return new long[] {size, 0};
  }

  @Override
  public String sign(Reference reference, PrivateKey key) {
    OciTarget t = target(reference, ProgressListener.NONE, false);
    OciTarget.Fetched f = t.fetchManifest(reference.digest().map(Digest::toString).orElseGet(() -> reference.tag().orElseThrow()));
    ReleaseCodec.parseIndex(reference, f);
    return signIndex(t, f.digest(), f.bytes().length, key);
  }

  private static String signIndex(OciTarget t, Digest index, long indexSize, PrivateKey key) {
    Signatures.SignatureLayer layer = Signatures.sign(index, key);
    List<Oci.Descriptor> existing = t.fetchManifestIfExists(index.signatureTag())
        .map(f -> Oci.read(f.bytes(), Oci.Manifest.class, "signature manifest").layers())
        .orElse(List.of());
    if (!t.hasBlob(Signatures.EMPTY_CONFIG_DIGEST, Signatures.EMPTY_CONFIG.length)) {
      t.pushBlob(Signatures.EMPTY_CONFIG_DIGEST, Signatures.EMPTY_CONFIG.length, null, Signatures.EMPTY_CONFIG);
    }
    Digest sigDigest = layer.descriptor().parsedDigest();
    if (!t.hasBlob(sigDigest, layer.blob().length)) {
      t.pushBlob(sigDigest, layer.blob().length, null, layer.blob());
    }
    byte[] manifest = Oci.write(Signatures.manifest(index, indexSize, existing, layer.descriptor()));
    t.pushManifest(index.signatureTag(), manifest, HubFormat.OCI_MANIFEST);
    return SigningKeys.keyId(SigningKeys.publicKeyOf(key));
  }

  // ---- plumbing ------------------------------------------------------------------------------

  private OciTarget target(Reference reference, ProgressListener listener, boolean forWrite) {
    if (reference instanceof Reference.Layout l) {
      return LayoutTarget.open(l.path(), forWrite);
    }
    Reference.Registry r = (Reference.Registry) reference;
    if (options.offline()) {
      return new StoreTarget(reference, blobs, refs);
    }
    Retrier retrier = new Retrier(options.retry(), options.ticker(), options.sleeper(), listener);
    return new RegistryTarget(r, http(), auth, retrier, options.plainHttp() || r.isLoopback(), options.requestTimeout());
  }

  private synchronized HttpClient http() {
    if (http == null) {
      http = HttpClient.newBuilder()
          .version(HttpClient.Version.HTTP_1_1)
          .connectTimeout(options.connectTimeout())
          .followRedirects(HttpClient.Redirect.NEVER)
          .sslContext(Tls.context(options.caFile()))
          .build();
    }
    return http;
  }

  @Override
  public LocalStore store() {
    return store;
  }

  @Override
  public synchronized void close() {
    http = null; // JDK 17's HttpClient has no close(); its threads end when it is unreachable
  }
}
