package dev.edgelm.hub.internal;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.util.JsonFormat;
import dev.edgelm.hub.Digest;
import dev.edgelm.hub.HubFormat;
import dev.edgelm.hub.InvalidReleaseException;
import dev.edgelm.hub.PackageLayer;
import dev.edgelm.hub.Reference;
import dev.edgelm.hub.StoreException;
import dev.edgelm.hub.VariantDetails;
import dev.edgelm.hub.VariantEntry;
import dev.edgelm.proto.EdgelmVersion;
import dev.edgelm.proto.MethodChains;
import dev.edgelm.proto.v1.PackageFile;
import dev.edgelm.proto.v1.Step;
import dev.edgelm.proto.v1.VariantDescriptor;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Maps model packages to OCI documents and back (the format of {@code docs/HUB_FORMAT.md}).
 * Writing: a package becomes a manifest (config = its {@code variant.json} bytes as they are on
 * disk, one layer per file) and an index entry annotated from its descriptor. Reading: every
 * document is checked for the types and annotations the format requires, and a variant's layers
 * must agree with its descriptor's file list, so the package a pull materialises is exactly the one
 * that was published.
 */
final class ReleaseCodec {
  static final String DESCRIPTOR_FILE = "variant.json";
  static final int MAX_SCHEMA_VERSION = 1;
  private static final Pattern VARIANT_ID = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
  private static final Pattern PATH_SEGMENT = Pattern.compile("[A-Za-z0-9._+-]+");

  private ReleaseCodec() {}

  /** One file of a package on disk. */
  record SourceFile(String path, String role, Path file, Digest digest, long size) {}

  /** A model package directory, read and verified for publishing. */
  record SourcePackage(Path dir, VariantDescriptor descriptor, byte[] config, Digest configDigest, List<SourceFile> files) {
    long bytes() {
      return files.stream().mapToLong(SourceFile::size).sum();
    }
  }

  // ---- publishing ----------------------------------------------------------------------------

  /** Reads a package directory and checks every listed file's size and digest. */
  static SourcePackage readPackage(Path dir) {
    Path descriptorPath = dir.resolve(DESCRIPTOR_FILE);
    byte[] config;
    try {
      config = Files.readAllBytes(descriptorPath);
    } catch (NoSuchFileException e) {
      throw new InvalidReleaseException(dir + " is not a model package: it has no " + DESCRIPTOR_FILE);
    } catch (IOException e) {
      throw new StoreException("cannot read " + descriptorPath + ": " + e.getMessage(), e);
    }
    VariantDescriptor d = parseDescriptor(config, descriptorPath.toString());
    List<SourceFile> files = new ArrayList<>();
    Set<String> seen = new HashSet<>();
    for (PackageFile pf : d.getFilesList()) {
      String path = safePath(pf.getPath(), descriptorPath.toString());
      if (!seen.add(path)) {
        throw new InvalidReleaseException(descriptorPath + " lists " + path + " twice");
      }
      Path f = dir.resolve(path);
      Digest expected;
      try {
        expected = Digest.parse(pf.getDigest());
      } catch (RuntimeException e) {
        throw new InvalidReleaseException(descriptorPath + ": file " + path + " has no valid sha256 digest ('" + pf.getDigest() + "')");
      }
      try {
        if (!Files.isRegularFile(f)) {
          throw new InvalidReleaseException(dir + " lacks " + path + ", which " + DESCRIPTOR_FILE + " lists");
        }
        long size = Files.size(f);
        if (size != pf.getSize()) {
          throw new InvalidReleaseException(f + " has " + size + " bytes but " + DESCRIPTOR_FILE + " says " + pf.getSize()
              + "; the package was modified after it was written");
        }
        Digest actual = Digest.of(f);
        if (!actual.equals(expected)) {
          throw new InvalidReleaseException(f + " has digest " + actual + " but " + DESCRIPTOR_FILE + " says " + expected
              + "; the package was modified after it was written");
        }
        files.add(new SourceFile(path, pf.getRole(), f, actual, size));
      } catch (IOException e) {
        throw new StoreException("cannot read " + f + ": " + e.getMessage(), e);
      }
    }
    return new SourcePackage(dir, d, config, Digest.of(config), files);
  }

  static Oci.Manifest manifest(SourcePackage p) {
    List<Oci.Descriptor> layers = new ArrayList<>();
    for (SourceFile f : p.files()) {
      Map<String, String> a = new TreeMap<>();
      a.put(HubFormat.TITLE, f.path());
      if (!f.role().isEmpty()) {
        a.put(HubFormat.FILE_ROLE, f.role());
      }
      layers.add(new Oci.Descriptor(HubFormat.layerMediaType(f.role()), null, f.digest().toString(), f.size(), a));
    }
    Oci.Descriptor config = new Oci.Descriptor(HubFormat.VARIANT_CONFIG, null, p.configDigest().toString(), p.config().length, Map.of());
    Map<String, String> annotations = Map.of(HubFormat.VARIANT_ID, p.descriptor().getId(), HubFormat.MODEL, p.descriptor().getModel());
    return new Oci.Manifest(2, HubFormat.OCI_MANIFEST, HubFormat.VARIANT_ARTIFACT_TYPE, config, layers, null, annotations);
  }

  /** The index entry of a variant: everything a host needs to choose it. */
  static Oci.Descriptor indexEntry(SourcePackage p, Digest manifestDigest, long manifestSize) {
    VariantDescriptor d = p.descriptor();
    Map<String, String> a = new TreeMap<>();
    a.put(HubFormat.VARIANT_ID, d.getId());
    put(a, HubFormat.METHOD, d.getMethod().getName());
    List<Step> chain = MethodChains.of(d);
    if (!chain.isEmpty()) {
      a.put(HubFormat.CHAIN, MethodChains.toAnnotation(chain));
    }
    put(a, HubFormat.FAMILY, d.getArchitecture().getFamily());
    if (d.getArchitecture().getContextLength() > 0) {
      a.put(HubFormat.CONTEXT_LENGTH, Integer.toString(d.getArchitecture().getContextLength()));
    }
    a.put(HubFormat.PARAMETER_COUNT, Long.toString(d.getParameterCount()));
    a.put(HubFormat.WEIGHT_BYTES, Long.toString(d.getWeightBytes()));
    a.put(HubFormat.KV_CACHE_BYTES_PER_TOKEN, Long.toString(d.getKvCacheBytesPerToken()));
    a.put(HubFormat.DOWNLOAD_BYTES, Long.toString(p.bytes()));
    if (d.hasQuality() && d.getQuality().getPerplexityRatio() > 0) {
      a.put(HubFormat.PERPLEXITY_RATIO, Double.toString(d.getQuality().getPerplexityRatio()));
    }
    if (d.hasQuality() && d.getQuality().getTop1Agreement() > 0) {
      a.put(HubFormat.TOP1_AGREEMENT, Double.toString(d.getQuality().getTop1Agreement()));
    }
    put(a, HubFormat.ONNX_OPS, String.join(",", d.getRequirements().getOnnxOpsList()));
    put(a, HubFormat.CPU_FEATURES, String.join(",", d.getRequirements().getCpuFeaturesList()));
    put(a, HubFormat.PREFERRED_CPU_FEATURES, String.join(",", d.getRequirements().getPreferredCpuFeaturesList()));
    put(a, HubFormat.EXECUTION_PROVIDERS, String.join(",", d.getRequirements().getExecutionProvidersList()));
    if (d.getRequirements().getOpset() > 0) {
      a.put(HubFormat.OPSET, Integer.toString(d.getRequirements().getOpset()));
    }
    put(a, HubFormat.MIN_ONNXRUNTIME_VERSION, d.getRequirements().getMinOnnxruntimeVersion());
    return new Oci.Descriptor(HubFormat.OCI_MANIFEST, HubFormat.VARIANT_ARTIFACT_TYPE, manifestDigest.toString(), manifestSize, a);
  }

  static Oci.Index index(List<Oci.Descriptor> entries, String model, Map<String, String> extra) {
    Map<String, String> a = new TreeMap<>(extra);
    a.put(HubFormat.MODEL, model);
    a.put(HubFormat.FORMAT_VERSION_KEY, HubFormat.FORMAT_VERSION);
    a.put(HubFormat.TOOL_VERSION, EdgelmVersion.CURRENT);
    return new Oci.Index(2, HubFormat.OCI_INDEX, HubFormat.RELEASE_ARTIFACT_TYPE, entries, a);
  }

  private static void put(Map<String, String> a, String key, String value) {
    if (value != null && !value.isEmpty()) {
      a.put(key, value);
    }
  }

  // ---- pulling -------------------------------------------------------------------------------

  /** A release index as received. */
  record ParsedIndex(Oci.Index index, String model, List<VariantEntry> variants) {}

  static ParsedIndex parseIndex(Reference ref, OciTarget.Fetched f) {
    String mt = f.mediaType() != null ? f.mediaType() : Oci.mediaTypeOf(f.bytes());
    if (!HubFormat.OCI_INDEX.equals(mt)) {
      throw new InvalidReleaseException(ref + " is not an edgelm release: it is a " + (mt == null ? "document of unknown type" : mt)
          + ", not an OCI image index");
    }
    Oci.Index index = Oci.read(f.bytes(), Oci.Index.class, "the index of " + ref);
    if (!HubFormat.RELEASE_ARTIFACT_TYPE.equals(index.artifactType())) {
      throw new InvalidReleaseException(ref + " is an OCI image index but not an edgelm release (artifactType "
          + index.artifactType() + ", expected " + HubFormat.RELEASE_ARTIFACT_TYPE + ")");
    }
    List<VariantEntry> variants = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (Oci.Descriptor d : index.manifests()) {
      VariantEntry e = entryOf(ref, d);
      if (!ids.add(e.id())) {
        throw new InvalidReleaseException(ref + " lists variant '" + e.id() + "' twice");
      }
      variants.add(e);
    }
    String model = index.annotations().getOrDefault(HubFormat.MODEL, "");
    return new ParsedIndex(index, model, variants);
  }

  static VariantEntry entryOf(Reference ref, Oci.Descriptor d) {
    String id = d.annotation(HubFormat.VARIANT_ID);
    if (id == null || !VARIANT_ID.matcher(id).matches()) {
      throw new InvalidReleaseException(ref + " has an index entry without a valid " + HubFormat.VARIANT_ID + " annotation");
    }
    String method = d.annotations().getOrDefault(HubFormat.METHOD, "");
    return new VariantEntry(id, d.parsedDigest(), d.size(), method, chainOf(ref, d, method),
        longOf(d, HubFormat.PARAMETER_COUNT), longOf(d, HubFormat.WEIGHT_BYTES),
        longOf(d, HubFormat.KV_CACHE_BYTES_PER_TOKEN), longOf(d, HubFormat.DOWNLOAD_BYTES),
        doubleOf(d, HubFormat.PERPLEXITY_RATIO),
        listOf(d, HubFormat.ONNX_OPS), listOf(d, HubFormat.CPU_FEATURES), listOf(d, HubFormat.PREFERRED_CPU_FEATURES),
        listOf(d, HubFormat.EXECUTION_PROVIDERS), d.annotations());
  }

  /** Parses a variant manifest and its config, and checks they agree with each other and the entry. */
  static VariantDetails details(VariantEntry e, Oci.Manifest m, byte[] config, Digest configDigest) {
    VariantDescriptor d = parseDescriptor(config, "variant.json of " + e.id());
    if (!d.getId().equals(e.id())) {
      throw new InvalidReleaseException("variant '" + e.id() + "' has a variant.json with id '" + d.getId() + "'");
    }
    List<PackageLayer> layers = layers(e, m);
    Map<String, PackageLayer> byPath = new TreeMap<>();
    layers.forEach(l -> byPath.put(l.path(), l));
    if (byPath.size() != layers.size() || layers.size() != d.getFilesCount()) {
      throw new InvalidReleaseException("variant '" + e.id() + "': its manifest has " + layers.size() + " files but variant.json lists "
          + d.getFilesCount());
    }
    for (PackageFile pf : d.getFilesList()) {
      PackageLayer l = byPath.get(pf.getPath());
      if (l == null || !l.digest().toString().equals(pf.getDigest()) || l.size() != pf.getSize()) {
        throw new InvalidReleaseException("variant '" + e.id() + "': file " + pf.getPath()
            + " differs between the manifest and variant.json");
      }
    }
    return new VariantDetails(e, configDigest, d, layers);
  }

  static Oci.Manifest parseManifest(VariantEntry e, byte[] bytes) {
    Oci.Manifest m = Oci.read(bytes, Oci.Manifest.class, "the manifest of variant " + e.id());
    if (!HubFormat.VARIANT_ARTIFACT_TYPE.equals(m.artifactType()) || m.config() == null
        || !HubFormat.VARIANT_CONFIG.equals(m.config().mediaType())) {
      throw new InvalidReleaseException("variant '" + e.id() + "' is not an edgelm variant manifest (artifactType "
          + m.artifactType() + ", config " + (m.config() == null ? null : m.config().mediaType()) + ")");
    }
    return m;
  }

  static List<PackageLayer> layers(VariantEntry e, Oci.Manifest m) {
    List<PackageLayer> out = new ArrayList<>();
    for (Oci.Descriptor l : m.layers()) {
      String title = l.annotation(HubFormat.TITLE);
      if (title == null) {
        throw new InvalidReleaseException("variant '" + e.id() + "' has a layer without an " + HubFormat.TITLE + " annotation");
      }
      out.add(new PackageLayer(safePath(title, "variant " + e.id()), l.annotations().getOrDefault(HubFormat.FILE_ROLE, ""),
          l.mediaType(), l.parsedDigest(), l.size()));
    }
    return out;
  }

  static VariantDescriptor parseDescriptor(byte[] json, String what) {
    VariantDescriptor.Builder b = VariantDescriptor.newBuilder();
    try {
      JsonFormat.parser().ignoringUnknownFields().merge(new String(json, StandardCharsets.UTF_8), b);
    } catch (InvalidProtocolBufferException | RuntimeException e) {
      throw new InvalidReleaseException(what + " is not a valid variant descriptor: " + e.getMessage());
    }
    VariantDescriptor d = b.build();
    if (d.getSchemaVersion() > MAX_SCHEMA_VERSION) {
      throw new InvalidReleaseException(what + " has schema version " + d.getSchemaVersion()
          + ", newer than this edgelm reads (" + MAX_SCHEMA_VERSION + "); upgrade edgelm");
    }
    if (!VARIANT_ID.matcher(d.getId()).matches()) {
      throw new InvalidReleaseException(what + " has no valid variant id ('" + d.getId() + "')");
    }
    return d;
  }

  /** A package-relative path that cannot escape the package directory. */
  static String safePath(String path, String where) {
    if (path == null || path.isEmpty() || path.startsWith("/") || path.contains("\\")) {
      throw new InvalidReleaseException(where + ": unsafe file path '" + path + "'");
    }
    for (String seg : path.split("/", -1)) {
      if (seg.equals(".") || seg.equals("..") || !PATH_SEGMENT.matcher(seg).matches()) {
        throw new InvalidReleaseException(where + ": unsafe file path '" + path + "'");
      }
    }
    if (path.equals(DESCRIPTOR_FILE)) {
      throw new InvalidReleaseException(where + ": a package file may not be named " + DESCRIPTOR_FILE);
    }
    return path;
  }

  /** The structured chain annotation, or for releases written before it the method name and its prose parameters. */
  private static List<Step> chainOf(Reference ref, Oci.Descriptor d, String method) {
    String json = d.annotation(HubFormat.CHAIN);
    if (json == null) {
      return MethodChains.fromLegacy(method, MethodChains.legacyParams(d.annotation(HubFormat.METHOD_PARAMS)));
    }
    try {
      return MethodChains.parseAnnotation(json);
    } catch (IllegalArgumentException e) {
      throw new InvalidReleaseException(ref + ": index annotation " + HubFormat.CHAIN + " of variant '"
          + d.annotation(HubFormat.VARIANT_ID) + "' is not a method chain (" + e.getMessage() + ")");
    }
  }

  private static long longOf(Oci.Descriptor d, String key) {
    String v = d.annotation(key);
    if (v == null) {
      return 0;
    }
    try {
      return Long.parseLong(v.strip());
    } catch (NumberFormatException e) {
      throw new InvalidReleaseException("index annotation " + key + "='" + v + "' is not an integer");
    }
  }

  private static OptionalDouble doubleOf(Oci.Descriptor d, String key) {
    String v = d.annotation(key);
    if (v == null) {
      return OptionalDouble.empty();
    }
    try {
      return OptionalDouble.of(Double.parseDouble(v.strip()));
    } catch (NumberFormatException e) {
      throw new InvalidReleaseException("index annotation " + key + "='" + v + "' is not a number");
    }
  }

  private static List<String> listOf(Oci.Descriptor d, String key) {
    String v = d.annotation(key);
    if (v == null || v.isBlank()) {
      return List.of();
    }
    return Arrays.stream(v.split(",")).map(String::strip).filter(s -> !s.isEmpty()).toList();
  }
}
