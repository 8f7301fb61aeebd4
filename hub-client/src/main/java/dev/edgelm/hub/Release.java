package dev.edgelm.hub;

import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A resolved release: its index digest, the variants it offers with their annotations, and the
 * signature check. Obtained from {@link Hub#resolve}; pass it to {@link Hub#details} and
 * {@link Hub#pull} so the index is fetched (and verified) once.
 *
 * @param reference what was resolved
 * @param indexDigest digest of the release's image index
 * @param model the model name (index annotation {@link HubFormat#MODEL})
 * @param fromStore resolved from the local store (offline mode) rather than the hub
 */
public record Release(
    Reference reference,
    Digest indexDigest,
    String model,
    Map<String, String> annotations,
    List<VariantEntry> variants,
    SignatureCheck signature,
    boolean fromStore) {

  public Release {
    annotations = Map.copyOf(annotations);
    variants = List.copyOf(variants);
  }

  /** The variant with this id, if the release has it. */
  public Optional<VariantEntry> variant(String id) {
    return variants.stream().filter(v -> v.id().equals(id)).findFirst();
  }

  /** Variant ids in index order. */
  public List<String> variantIds() {
    return variants.stream().map(VariantEntry::id).toList();
  }
}
