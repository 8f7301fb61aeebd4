package dev.edgelm.hub;

/**
 * The names that make up the edgelm hub format (see {@code docs/HUB_FORMAT.md}): media types,
 * artifact types and annotation keys. Public so the daemon's variant selection can read index
 * annotations by name.
 */
public final class HubFormat {
  private HubFormat() {}

  /** Version of this format, written as the index annotation {@link #FORMAT_VERSION_KEY}. */
  public static final String FORMAT_VERSION = "1";

  // OCI media types.
  public static final String OCI_INDEX = "application/vnd.oci.image.index.v1+json";
  public static final String OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
  public static final String OCI_EMPTY = "application/vnd.oci.empty.v1+json";
  public static final String OCI_LAYOUT_VERSION = "1.0.0";

  // Ours.
  /** {@code artifactType} of a release's image index. */
  public static final String RELEASE_ARTIFACT_TYPE = "application/vnd.edgelm.release.v1";
  /** {@code artifactType} of one variant's image manifest (also set on its index entry). */
  public static final String VARIANT_ARTIFACT_TYPE = "application/vnd.edgelm.variant.v1";
  /** Media type of the config blob: the variant's {@code variant.json}. */
  public static final String VARIANT_CONFIG = "application/vnd.edgelm.variant.config.v1+json";
  /** {@code artifactType} of the signature manifest stored under {@code sha256-<hex>.sig}. */
  public static final String SIGNATURE_ARTIFACT_TYPE = "application/vnd.edgelm.signature.v1";
  /** Media type of one signature layer: the 64 raw bytes of an Ed25519 signature. */
  public static final String SIGNATURE_ED25519 = "application/vnd.edgelm.signature.ed25519.v1";
  /**
   * What an Ed25519 signature signs: the UTF-8 bytes of this prefix followed by the index digest
   * ({@code sha256:<hex>}). The prefix keeps an edgelm signature from meaning anything elsewhere.
   */
  public static final String SIGNATURE_PAYLOAD_PREFIX = "edgelm-release-signature-v1 ";

  /** Layer media type for a package file of {@code role} (model, weights, tokenizer, config; other: file). */
  public static String layerMediaType(String role) {
    String r = role == null || role.isBlank() ? "file" : role;
    return "application/vnd.edgelm.file." + r + ".v1";
  }

  // Standard annotation keys.
  public static final String TITLE = "org.opencontainers.image.title";
  public static final String REF_NAME = "org.opencontainers.image.ref.name";

  // Index annotations (release-wide).
  public static final String MODEL = "dev.edgelm.model";
  public static final String FORMAT_VERSION_KEY = "dev.edgelm.format.version";
  public static final String TOOL_VERSION = "dev.edgelm.tool.version";

  // Index entry annotations (per variant): enough to choose without fetching anything else.
  public static final String VARIANT_ID = "dev.edgelm.variant.id";
  public static final String METHOD = "dev.edgelm.variant.method";
  /**
   * Read only, from releases written before {@link #CHAIN}: method parameters as {@code k=v} pairs
   * joined by commas, sorted by key.
   */
  public static final String METHOD_PARAMS = "dev.edgelm.variant.method.params";
  /**
   * The compression chain, structured: proto3 JSON of {@code edgelm.v1.MethodChain} (each step's
   * name and typed parameters), e.g. {@code {"steps":[{"name":"int4","quantization":{"bits":4,...}}]}}.
   */
  public static final String CHAIN = "dev.edgelm.variant.chain";
  public static final String FAMILY = "dev.edgelm.variant.family";
  public static final String CONTEXT_LENGTH = "dev.edgelm.variant.context-length";
  public static final String PARAMETER_COUNT = "dev.edgelm.variant.parameter-count";
  public static final String WEIGHT_BYTES = "dev.edgelm.variant.weight-bytes";
  public static final String KV_CACHE_BYTES_PER_TOKEN = "dev.edgelm.variant.kv-cache-bytes-per-token";
  /** Sum of the layer sizes: what a pull downloads at most. */
  public static final String DOWNLOAD_BYTES = "dev.edgelm.variant.download-bytes";
  public static final String PERPLEXITY_RATIO = "dev.edgelm.variant.quality.perplexity-ratio";
  public static final String TOP1_AGREEMENT = "dev.edgelm.variant.quality.top1-agreement";
  /** Comma-separated lists. */
  public static final String ONNX_OPS = "dev.edgelm.variant.requires.onnx-ops";
  public static final String CPU_FEATURES = "dev.edgelm.variant.requires.cpu-features";
  public static final String PREFERRED_CPU_FEATURES = "dev.edgelm.variant.prefers.cpu-features";
  public static final String EXECUTION_PROVIDERS = "dev.edgelm.variant.requires.execution-providers";
  public static final String OPSET = "dev.edgelm.variant.requires.opset";
  public static final String MIN_ONNXRUNTIME_VERSION = "dev.edgelm.variant.requires.onnxruntime-version";

  // Layer annotations.
  public static final String FILE_ROLE = "dev.edgelm.file.role";

  // Signature annotations.
  /** On a signature layer: {@code sha256:<hex>} of the signer's public key (X.509 SubjectPublicKeyInfo DER). */
  public static final String SIGNATURE_KEY_ID = "dev.edgelm.signature.key-id";
  /** On the signature manifest: the index digest that was signed. */
  public static final String SIGNED_DIGEST = "dev.edgelm.signature.signed-digest";
}
